/**
 * The README's quick start, followed as a newcomer would: the example config started as
 * `npm start` starts it, and the curl commands of the README run as written in bash (only
 * the port is changed, so the test never needs 8080 free), typing the code from the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { startGatewayProcess, writeTempConfig } from '../helpers/process.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

function curlSkipReason(): string | undefined {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    if (process.env.CI) throw new Error('curl is not installed, and CI is set: the README quick start must be run');
    return 'curl is not installed: the README quick start test skipped';
  }
}

test('the README quick start signs in with curl against the example config', { skip: curlSkipReason() }, async (t) => {
  const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((match) => match[1]!).find((text) => text.includes('/.gatehouse/verify'));
  assert.ok(block, 'the README has a sh block that signs in with curl');
  const port = await unusedLoopbackPort();
  const example = readFileSync(new URL('gateway.example.yaml', root), 'utf8');
  const config = writeTempConfig(example.replaceAll('localhost:8080', `localhost:${port}`).replace('127.0.0.1:9090', '127.0.0.1:0'));
  const { proc } = await startGatewayProcess(config, { GATEHOUSE_LISTEN: `127.0.0.1:${port}` });
  t.after(() => proc.stop());

  const shell = spawn('bash', ['-e', '-c', block.replaceAll('localhost:8080', `localhost:${port}`)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  shell.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  shell.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => shell.on('exit', resolve));
  // The newcomer reads the code off the mail.logged line and types it at the prompt.
  const mail = await proc.waitForLog((line) => line.event === 'mail.logged');
  assert.equal(mail.to, 'you@example.com');
  const code = /^(\d{8}) is your sign-in code for whoami$/.exec(String(mail.subject))?.[1];
  assert.ok(code, `the subject starts with the code: ${String(mail.subject)}`);
  shell.stdin.end(`${code}\n`);
  assert.equal(await exited, 0, output);

  assert.match(output, new RegExp(`^303 http://localhost:${port}/$`, 'm'), output);
  const whoami = JSON.parse(output.slice(output.indexOf('{'))) as { headers: Record<string, string> };
  assert.equal(whoami.headers['x-auth-request-email'], 'you@example.com');
});
