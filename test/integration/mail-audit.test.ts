/**
 * The audit trail says what became of a mail: `otp.sent` only when the mail server took the
 * code, `mail.failed` (and no `otp.sent`) when it refused it; `gatehouse invite` tells the
 * operator when the invitation could not be mailed.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { captureLogs, startTestSmtpServer } from '../helpers/mail.js';
import { startGateway } from '../helpers/servers.js';
import { FormClient } from '../helpers/form-client.js';
import { SECRET, submitEmail } from '../helpers/sign-in-world.js';
import { eventually } from '../helpers/raw-http.js';
import { runGatehouse } from '../helpers/process.js';

async function askForCodeWith(answerData: number | undefined): Promise<Array<Record<string, unknown>>> {
  const smtp = await startTestSmtpServer({ answerData: () => answerData });
  const logs = captureLogs();
  const gw = await startGateway(
    `
session: { secret: ${SECRET}, store: memory }
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`,
    { logger: logs.logger },
  );
  try {
    const { codePage } = await submitEmail(new FormClient(gw.port, 'app.test'), 'bob@example.com', { rd: 'http://app.test/' });
    assert.equal(codePage?.status, 200);
    await eventually(() => logs.records().some((line) => line.event === 'otp.sent' || line.event === 'mail.failed'), 10_000, 'the mail’s fate is logged');
    // Let any line that would follow the first one arrive before the test reads them all.
    await gw.close();
    return logs.records();
  } finally {
    await smtp.close();
  }
}

test('a mail the server refuses is logged as mail.failed, never as otp.sent', async () => {
  const events = (await askForCodeWith(550)).map((line) => line.event);
  assert.ok(events.includes('mail.failed'));
  assert.ok(!events.includes('otp.sent'), 'the audit trail must not say a code was mailed');
});

test('a mail the server takes is logged as otp.sent', async () => {
  const events = (await askForCodeWith(undefined)).map((line) => line.event);
  assert.ok(events.includes('otp.sent'));
  assert.ok(!events.includes('mail.failed'));
});

test('`gatehouse invite` says so, and exits 1, when the invitation mail could not be sent', async () => {
  const smtp = await startTestSmtpServer({ answerData: () => 550 });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-invite-'));
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(
      configFile,
      `session: { secret: ${SECRET}, store: memory }
invitations: { file: guests.yaml }
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
routes:
  - name: wiki
    from: http://wiki.test/
    to: builtin:whoami
    allow: ["invited"]
`,
    );
    const invite = runGatehouse(['invite', 'guest@partner.test', '--route', 'wiki', '--config', configFile]);
    let stdout = '';
    invite.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    assert.equal(await invite.exited, 1);
    assert.match(stdout, /invited guest@partner\.test to wiki, but the invitation mail could not be sent/);
    assert.match(invite.stderr(), /"event":"mail\.failed"/);
    assert.match(readFileSync(join(dir, 'guests.yaml'), 'utf8'), /guest@partner\.test/, 'the invitation itself is kept');
  } finally {
    await smtp.close();
  }
});
