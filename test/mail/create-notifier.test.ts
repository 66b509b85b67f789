/**
 * `createNotifier` picks the backend from `mail.transport` and refuses what it cannot use:
 * unknown kinds, SMTP without settings, an unreadable CA file and `smtp.url` query
 * parameters (which nodemailer would read as TLS options) — without echoing a password.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createNotifier } from '../../src/mail/create-notifier.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { createSilentLogger } from '../../src/log/logger.js';
import { captureLogs } from '../helpers/mail.js';
import { sampleSignInCodeMail } from '../helpers/mail-fixtures.js';

type MailConfig = GatewayConfig['mail'];
const FROM = 'Gatehouse <no-reply@example.com>';

describe('createNotifier', () => {
  test('the log transport prints mails', async () => {
    const logs = captureLogs();
    const notifier = createNotifier({ from: FROM, transport: 'log' }, { logger: logs.logger });
    await notifier.sendSignInCode(sampleSignInCodeMail());
    assert.equal(logs.records()[0]?.event, 'mail.logged');
    await notifier.close();
  });

  test('the smtp transport builds an SMTP notifier without connecting yet', async () => {
    const notifier = createNotifier(
      { from: FROM, transport: 'smtp', smtp: { host: '127.0.0.1', port: 2525, tls: { ca: '' } } },
      { logger: createSilentLogger() },
    );
    assert.equal(typeof notifier.verify, 'function');
    await notifier.close();
  });

  const refused: { name: string; config: MailConfig; message: RegExp }[] = [
    { name: 'an unknown transport', config: { from: FROM, transport: 'carrier-pigeon' } as unknown as MailConfig, message: /unknown mail transport "carrier-pigeon"/ },
    { name: 'smtp without an smtp section', config: { from: FROM, transport: 'smtp' }, message: /mail\.smtp is required/ },
    {
      name: 'an smtp.url with query parameters',
      config: { from: FROM, transport: 'smtp', smtp: { url: 'smtp://u:S3cret-Pw@mail.example.com?tls.rejectUnauthorized=false', tls: { ca: '' } } },
      message: /must not have query parameters/,
    },
    {
      name: 'a tls.ca file that does not exist',
      config: { from: FROM, transport: 'smtp', smtp: { host: 'mail.example.com', tls: { ca: '/nonexistent/gatehouse-ca.pem' } } },
      message: /ENOENT/,
    },
  ];
  for (const { name, config, message } of refused) {
    test(`${name} is refused`, () => {
      assert.throws(() => createNotifier(config, { logger: createSilentLogger() }), (error: Error) => {
        assert.match(error.message, message);
        assert.ok(!error.message.includes('S3cret-Pw'), error.message);
        return true;
      });
    });
  }
});
