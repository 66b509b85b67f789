/**
 * The production log destination: lines reach the descriptor whole and in order, in
 * batches, on the flush timer, and at exit; a reader that stalls loses nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createBatchedLineWriter } from '../../src/log/batched-line-writer.js';

const WRITER_MODULE = new URL('../../src/log/batched-line-writer.ts', import.meta.url).href;

function tempFile(): { fd: number; path: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'gatehouse-log-')), 'out.log');
  return { fd: openSync(path, 'w'), path };
}

test('lines are written whole and in order, multi-byte characters and oversized lines included', (t) => {
  const { fd, path } = tempFile();
  t.after(() => closeSync(fd));
  const writer = createBatchedLineWriter(fd);
  const lines: string[] = [];
  for (let i = 0; i < 3000; i += 1) {
    // Varying lengths and 2-, 3- and 4-byte characters put batch ends in every possible place.
    lines.push(`{"n":${i},"v":"${'é€😀x'.repeat(i % 37)}"}\n`);
    if (i % 1000 === 999) lines.push(`{"big":"${'y'.repeat(40_000)}"}\n`);
  }
  for (const line of lines) writer.write(line);
  writer.flush();
  assert.equal(readFileSync(path, 'utf8'), lines.join(''));
});

test('a line waits in the batch until a flush, and the flush timer writes it', async (t) => {
  const { fd, path } = tempFile();
  t.after(() => closeSync(fd));
  const writer = createBatchedLineWriter(fd);
  writer.write('{"a":1}\n');
  assert.equal(readFileSync(path, 'utf8'), '', 'batched, not one write per line');
  await delay(600);
  assert.equal(readFileSync(path, 'utf8'), '{"a":1}\n');
  let called = false;
  writer.flush(() => (called = true));
  assert.ok(called, 'pino passes flush a callback');
});

function runChild(script: string, expectedExitCode = 0): { done: Promise<string>; start: () => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  child.stdout.pause();
  let output = '';
  const done = new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => (code === expectedExitCode ? resolve(output) : reject(new Error(`child exited with ${code}`))));
  });
  return { done, start: () => child.stdout.resume() };
}

test('what is pending is written when the process exits, even by process.exit()', async () => {
  const child = runChild(`
    import { createBatchedLineWriter } from ${JSON.stringify(WRITER_MODULE)};
    const writer = createBatchedLineWriter(1);
    writer.write('{"last":"words"}\\n');
    process.exit(0);
  `);
  child.start();
  assert.equal(await child.done, '{"last":"words"}\n');
});

test('what is pending is written when the process dies of an uncaught exception', async () => {
  const child = runChild(
    `
    import { createBatchedLineWriter } from ${JSON.stringify(WRITER_MODULE)};
    const writer = createBatchedLineWriter(1);
    writer.write('{"before":"the crash"}\\n');
    setTimeout(() => { throw new Error('boom'); }, 10);
  `,
    1,
  );
  child.start();
  assert.equal(await child.done, '{"before":"the crash"}\n');
});

test('a reader that stalls for a while loses nothing', async () => {
  const child = runChild(`
    import { createBatchedLineWriter } from ${JSON.stringify(WRITER_MODULE)};
    const writer = createBatchedLineWriter(1);
    for (let i = 0; i < 20000; i += 1) writer.write(JSON.stringify({ n: i, pad: 'p'.repeat(40) }) + '\\n');
    writer.flush();
  `);
  // About 1 MB against a 64 KiB pipe: the child must wait for us.
  await delay(500);
  child.start();
  const lines = (await child.done).trimEnd().split('\n');
  assert.equal(lines.length, 20000);
  lines.forEach((line, i) => assert.equal((JSON.parse(line) as { n: number }).n, i));
});
