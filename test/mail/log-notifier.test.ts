/**
 * The development mail transport (SPEC section 4): it prints each mail, code included, at
 * info as `mail.logged`. That is its whole job, and the one place a code may be logged.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createLogNotifier } from '../../src/mail/log-notifier.js';
import type { SignInCodeMail } from '../../src/mail/notifier.js';
import { sampleSignInCodeMail } from '../helpers/mail-fixtures.js';
import { captureLogs } from '../helpers/mail.js';


function signInMail(overrides: Partial<SignInCodeMail> = {}): SignInCodeMail {
  return sampleSignInCodeMail({ code: '731905', requestId: 'req-7', ...overrides });
}

describe('log notifier', () => {
  test('it prints the mail with its code at info as mail.logged', async () => {
    const logs = captureLogs();
    const notifier = createLogNotifier({ from: 'Gatehouse <no-reply@example.com>', logger: logs.logger });
    await notifier.sendSignInCode(signInMail());
    const [record, ...more] = logs.records();
    assert.equal(more.length, 0);
    assert.equal(record?.level, 'info');
    assert.equal(record?.event, 'mail.logged');
    assert.equal(record?.to, 'guest@partner.example');
    assert.equal(record?.subject, '731905 is your sign-in code for Wiki');
    assert.equal(record?.request_id, 'req-7');
    assert.match(String(record?.text), /731905/);
    assert.match(String(record?.text), /valid for 10 minutes, until 1 May 2024 at 14:32 UTC/);
  });

  test('a mail that fails the header injection backstop is logged as mail.failed, not printed', async () => {
    const logs = captureLogs();
    const notifier = createLogNotifier({ from: 'Gatehouse <no-reply@example.com>', logger: logs.logger });
    await notifier.sendSignInCode(signInMail({ to: 'guest@partner.example\r\nBcc: evil@x.test' }));
    const [record, ...more] = logs.records();
    assert.equal(more.length, 0);
    assert.equal(record?.event, 'mail.failed');
    assert.equal(record?.level, 'error');
    assert.ok(!logs.lines.join('').includes('731905'));
  });

  test('verify and close succeed without doing anything', async () => {
    const notifier = createLogNotifier({ from: 'x@example.com', logger: captureLogs().logger });
    await notifier.verify?.();
    await notifier.close();
  });
});
