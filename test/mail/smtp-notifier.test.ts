/**
 * The SMTP notifier against a real `smtp-server` on loopback: what arrives (headers, both
 * parts, escaping), header injection, retries with backoff, failures that are logged and
 * never thrown, AUTH without leaking the password, and implicit TLS with a private CA.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { createSmtpNotifier, type SmtpSettings } from '../../src/mail/smtp-notifier.js';
import { createNotifier } from '../../src/mail/create-notifier.js';
import type { Notifier, SignInCodeMail } from '../../src/mail/notifier.js';
import { sampleSignInCodeMail } from '../helpers/mail-fixtures.js';
import {
  captureLogs,
  createSelfSignedCertificate,
  hasOpenssl,
  parseRawMail,
  startTestSmtpServer,
  type CapturedLogs,
} from '../helpers/mail.js';
import { unusedLoopbackPort } from '../helpers/ports.js';

const FROM = 'Gatehouse <no-reply@example.com>';
const FAST_RETRIES = [2, 2];
const PASSWORD = 'hunter2-Sm7p!pass';

// Codes that are still valid when the tests run: the notifier drops an expired code's mail.
const REQUESTED_AT = new Date('2099-05-01T14:22:00Z');

function signInMail(overrides: Partial<SignInCodeMail> = {}): SignInCodeMail {
  return sampleSignInCodeMail({ requestedAt: REQUESTED_AT, expiresAt: new Date(REQUESTED_AT.getTime() + 10 * 60_000), ...overrides });
}

function plainSmtp(port: number, extra: Partial<SmtpSettings> = {}): SmtpSettings {
  return { host: '127.0.0.1', port, secure: false, tls: { ca: '' }, ...extra };
}

function notifierFor(smtp: SmtpSettings, logs: CapturedLogs, retryDelaysMs: number[] = FAST_RETRIES): Notifier {
  return createSmtpNotifier({ from: FROM, smtp, logger: logs.logger, retryDelaysMs });
}

function failures(logs: CapturedLogs) {
  return logs.records().filter((record) => record.event === 'mail.failed');
}

describe('SMTP notifier', { timeout: 60_000 }, () => {
  test('a mail arrives once with the right From, To and Subject', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 1);
      const received = server.received[0]!;
      assert.equal(received.mailFrom, 'no-reply@example.com');
      assert.deepEqual(received.rcptTo, ['guest@partner.example']);
      const parsed = parseRawMail(received.raw);
      assert.equal(parsed.header('from'), FROM);
      assert.equal(parsed.header('to'), 'guest@partner.example');
      assert.equal(parsed.header('subject'), '482913 is your sign-in code for Wiki');
      assert.equal(parsed.header('auto-submitted'), 'auto-generated');
      assert.deepEqual(failures(logs), []);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('both the text and the HTML part carry the code, site name, expiry and ignore line', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      const parsed = parseRawMail(server.received[0]!.raw);
      for (const [part, body] of [['text', parsed.text], ['html', parsed.html]] as const) {
        assert.match(body, /482913/, part);
        assert.match(body, /Wiki/, part);
        assert.match(body, /valid for 10 minutes, until 1 May 2099 at 14:32 UTC/, part);
        assert.match(body, /Not you\? Ignore this email/, part);
      }
      assert.match(parsed.html, /^<!doctype html>/);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a site name with <script> arrives escaped in the HTML part', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail({ appName: '<script>alert(1)</script>' }));
      const { html } = parseRawMail(server.received[0]!.raw);
      assert.doesNotMatch(html, /<script>/);
      assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a site name carrying "\\r\\nBcc:" adds no header and no recipient', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail({ appName: 'Wiki\r\nBcc: evil@x.test\r\nX-Injected: yes' }));
      assert.equal(server.received.length, 1);
      const received = server.received[0]!;
      assert.deepEqual(received.rcptTo, ['guest@partner.example']);
      const parsed = parseRawMail(received.raw);
      const names = parsed.headers.map((h) => h.name);
      assert.ok(!names.includes('bcc'), `headers: ${names.join(', ')}`);
      assert.ok(!names.includes('x-injected'), `headers: ${names.join(', ')}`);
      assert.equal(parsed.header('subject'), '482913 is your sign-in code for Wiki Bcc: evil@x.test X-Injected: yes');
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a recipient carrying "\\r\\nBcc:" is not sent and is logged as mail.failed', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail({ to: 'guest@partner.example\r\nBcc: evil@x.test' }));
      assert.equal(server.dataAttempts(), 0);
      const [failure, ...more] = failures(logs);
      assert.equal(more.length, 0);
      assert.equal(failure?.attempts, 0);
      assert.equal(failure?.level, 'error');
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a server that refuses the first two attempts with 451 gets the mail on the third', async () => {
    const server = await startTestSmtpServer({ answerData: (attempt) => (attempt <= 2 ? 451 : undefined) });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.dataAttempts(), 3);
      assert.equal(server.received.length, 1);
      assert.deepEqual(failures(logs), []);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a server that always answers 451 gets exactly three attempts, then mail.failed is logged and the send resolves', async () => {
    const server = await startTestSmtpServer({ answerData: () => 451 });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.dataAttempts(), 3);
      assert.equal(server.received.length, 0);
      const [failure, ...more] = failures(logs);
      assert.equal(more.length, 0);
      assert.equal(failure?.level, 'error');
      assert.equal(failure?.to_domain, 'partner.example');
      assert.equal(failure?.attempts, 3);
      assert.equal(failure?.smtp_status, 451);
      assert.equal(failure?.request_id, 'req-42');
      assert.match(String(failure?.error), /451/);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('the number of attempts follows the injected delays', async () => {
    const server = await startTestSmtpServer({ answerData: () => 451 });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs, [1, 1, 1, 1]);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.dataAttempts(), 5);
      assert.equal(failures(logs)[0]?.attempts, 5);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a permanent 550 refusal is not retried', async () => {
    const server = await startTestSmtpServer({ answerData: () => 550 });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.dataAttempts(), 1);
      assert.equal(failures(logs)[0]?.attempts, 1);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a closed port is retried, logged as mail.failed and never thrown', async () => {
    const port = await unusedLoopbackPort();
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      const [failure] = failures(logs);
      assert.equal(failure?.attempts, 3);
      assert.match(String(failure?.error), /ECONNREFUSED|ECONNECTION/);
    } finally {
      await notifier.close();
    }
  });

  test('a server that accepts the connection but never greets times out and is logged as mail.failed', async () => {
    const sockets = new Set<net.Socket>();
    // Accepts and says nothing: a hung mail server.
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const logs = captureLogs();
    const notifier = createSmtpNotifier({
      from: FROM,
      smtp: plainSmtp(port),
      logger: logs.logger,
      retryDelaysMs: [1],
      timeoutsMs: { connection: 200, greeting: 200, socket: 200 },
    });
    try {
      const started = Date.now();
      await notifier.sendSignInCode(signInMail());
      assert.ok(Date.now() - started < 5_000);
      const [failure] = failures(logs);
      assert.equal(failure?.attempts, 2);
      assert.match(String(failure?.error), /timeout|ETIMEDOUT/i);
    } finally {
      await notifier.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('the code and the recipient local part appear in no log line, even at debug', async () => {
    const server = await startTestSmtpServer({ answerData: (attempt) => (attempt === 1 ? 451 : undefined) });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      await notifier.sendSignInCode(signInMail({ to: 'guest@partner.example\r\nBcc: x@y.test' }));
      assert.ok(logs.lines.length > 0);
      for (const line of logs.lines) {
        assert.ok(!line.includes('482913'), line);
        assert.ok(!line.includes('guest@'), line);
      }
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('past maxPendingMails a new mail is dropped at once and logged, and memory stays bounded', async () => {
    const port = await unusedLoopbackPort();
    const logs = captureLogs();
    // Long retry waits keep the first mails pending, as a dead SMTP server would.
    const notifier = createSmtpNotifier({ from: FROM, smtp: plainSmtp(port), logger: logs.logger, retryDelaysMs: [60_000], maxPendingMails: 3 });
    try {
      const pending = Array.from({ length: 3 }, (_, i) => notifier.sendSignInCode(signInMail({ requestId: `kept-${i}` })));
      const dropped = Array.from({ length: 2 }, (_, i) => notifier.sendSignInCode(signInMail({ requestId: `dropped-${i}` })));
      await Promise.all(dropped);
      const dropRecords = failures(logs).filter((record) => String(record.request_id).startsWith('dropped-'));
      assert.equal(dropRecords.length, 2);
      assert.equal(dropRecords[0]!.attempts, 0);
      assert.match(String(dropRecords[0]!.error), /the outbox is full \(3 mails\)/);
      assert.equal(dropRecords[0]!.to_domain, 'partner.example');
      assert.equal(failures(logs).filter((record) => String(record.request_id).startsWith('kept-')).length, 0, 'the pending mails are still being tried');
      await notifier.close();
      await Promise.all(pending);
    } finally {
      await notifier.close();
    }
  });

  test('the outbox has maxPendingMails places: a reserved place counts until released, a not-allowed place counts like a mail until its turn', async () => {
    // A hung mail server: every mail on a connection stays there, so places end only as the test says.
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const logs = captureLogs();
    const notifier = createSmtpNotifier({ from: FROM, smtp: plainSmtp((hung.address() as AddressInfo).port), logger: logs.logger, maxPendingMails: 7, closeGraceMs: 100 });
    try {
      const place = () => notifier.reserveSignInCode!();
      // Five mails take the five connections and stay there.
      const sending = Array.from({ length: 5 }, (_, i) => place()!.send(signInMail({ requestId: `on-a-connection-${i}` })));
      // A not-allowed address's place waits in line behind them, like a mail would.
      place()!.sendNothing(new Date(Date.now() + 60_000));
      const reserved = place()!;
      assert.equal(place(), undefined, 'seven places taken: the outbox is full');
      assert.equal(await notifier.sendSignInCode(signInMail({ requestId: 'no-place' })), 'failed', 'a mail without a place is dropped');
      assert.match(String(failures(logs).find((record) => record.request_id === 'no-place')?.error), /the outbox is full \(7 mails\)/);

      reserved.release();
      const again = place();
      assert.ok(again, 'a released place can be taken again');
      again.release();
      reserved.release(); // a second release changes nothing
      assert.ok(place(), 'one place, one release');
      assert.equal(place(), undefined);

      await notifier.close();
      const delivered = await Promise.all(sending);
      assert.deepEqual(delivered, Array(5).fill('failed'));
      // Only mails are reported: the not-allowed place and the reserved ones end without a word.
      assert.equal(failures(logs).filter((record) => String(record.request_id).startsWith('on-a-connection-')).length, 5);
      assert.equal(failures(logs).length, 6);
    } finally {
      await notifier.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });

  test('a not-allowed place ends when its turn comes, without a connection', async () => {
    const server = await startTestSmtpServer();
    const logs = captureLogs();
    const notifier = createSmtpNotifier({ from: FROM, smtp: plainSmtp(server.port), logger: logs.logger, maxPendingMails: 1 });
    try {
      notifier.reserveSignInCode!()!.sendNothing(new Date(Date.now() + 60_000));
      // Its turn came at once (no mail ahead of it): the one place is free again.
      const next = notifier.reserveSignInCode!();
      assert.ok(next, 'the place came back');
      assert.equal(await next.send(signInMail({ requestId: 'real' })), 'sent');
      assert.equal(server.received.length, 1, 'only the real mail reached the server');
      assert.equal(failures(logs).length, 0);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('close is bounded when the server accepts connections and never answers, and every waiting mail is logged as failed once', async () => {
    // A hung mail server: it takes the connection and says nothing, not even its greeting.
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const logs = captureLogs();
    const notifier = createSmtpNotifier({ from: FROM, smtp: plainSmtp((hung.address() as AddressInfo).port), logger: logs.logger, closeGraceMs: 200 });
    try {
      const sending = Array.from({ length: 25 }, (_, i) => notifier.sendSignInCode(signInMail({ requestId: `hung-${i}` })));
      while (sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const closed = notifier.close();
      // Before the fix this took one 10 s greeting timeout per round of five pooled connections.
      const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3_000))]);
      assert.equal(outcome, 'closed');
      const failed = failures(logs).map((record) => String(record.request_id)).sort();
      assert.deepEqual(failed, Array.from({ length: 25 }, (_, i) => `hung-${i}`).sort(), 'each waiting mail is reported, once');
      assert.ok(!logs.records().some((record) => record.event === 'mail.delivered'));
      void Promise.all(sending);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  test('behind a server that never answers, each waiting code fails when it expires, not after the backlog', async () => {
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const logs = captureLogs();
    // Default socket timeouts (10 s): five connections, fifty mails, three tries each would
    // take minutes to report; the codes expire in under a second.
    const notifier = createSmtpNotifier({ from: FROM, smtp: plainSmtp((hung.address() as AddressInfo).port), logger: logs.logger, closeGraceMs: 100 });
    try {
      const expiresAt = new Date(Date.now() + 800);
      const sending = Array.from({ length: 50 }, (_, i) => notifier.sendSignInCode(signInMail({ requestId: `backlog-${i}`, expiresAt })));
      const outcome = await Promise.race([Promise.all(sending), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 4_000))]);
      assert.deepEqual(outcome, Array.from({ length: 50 }, () => 'failed'), 'every mail is reported by its expiry');
      const reasons = new Set(failures(logs).map((record) => String(record.error)));
      assert.deepEqual([...reasons], ['the code was not taken by the mail server before it expired']);
      assert.equal(failures(logs).length, 50, 'once each');
    } finally {
      await notifier.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  test('a code that expires while its retry waits is never sent once the server is back; a fresh one is', async () => {
    // The first DATA is refused (451, worth retrying); the server takes everything after it.
    const server = await startTestSmtpServer({ answerData: (attempt) => (attempt === 1 ? 451 : undefined) });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs, [600, 600]);
    try {
      const stale = notifier.sendSignInCode(signInMail({ requestId: 'stale', code: '11112222', expiresAt: new Date(Date.now() + 300) }));
      assert.equal(await stale, 'failed');
      assert.equal(await notifier.sendSignInCode(signInMail({ requestId: 'fresh', code: '33334444' })), 'sent');
      assert.equal(server.received.length, 1);
      assert.match(server.received[0]!.raw, /33334444/);
      assert.doesNotMatch(server.received.map((mail) => mail.raw).join(''), /11112222/, 'the dead code never arrives');
      assert.equal(server.dataAttempts(), 2, 'the stale mail was not tried again');
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('close waits for a mail in flight and stops its retries', async () => {
    const server = await startTestSmtpServer({ answerData: () => 451 });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs, [60_000, 60_000]);
    try {
      const sending = notifier.sendSignInCode(signInMail());
      while (server.dataAttempts() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const started = Date.now();
      await notifier.close();
      await sending;
      assert.ok(Date.now() - started < 5_000, 'close did not wait out the backoff');
      assert.equal(failures(logs)[0]?.attempts, 1);
    } finally {
      await server.close();
    }
  });
});

describe('SMTP notifier with AUTH', { timeout: 60_000 }, () => {
  test('correct credentials from host/port/auth deliver the mail', async () => {
    const server = await startTestSmtpServer({ auth: { user: 'gatehouse', pass: PASSWORD } });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port, { auth: { user: 'gatehouse', pass: PASSWORD } }), logs);
    try {
      await notifier.verify?.();
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 1);
      assert.deepEqual(failures(logs), []);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('credentials in smtp.url are percent-decoded and used', async () => {
    const server = await startTestSmtpServer({ auth: { user: 'mailer@example.com', pass: 'p@ss:w/rd' } });
    const logs = captureLogs();
    const notifier = createNotifier(
      { from: FROM, transport: 'smtp', smtp: { url: `smtp://mailer%40example.com:p%40ss%3Aw%2Frd@127.0.0.1:${server.port}`, tls: { ca: '' } } },
      { logger: logs.logger, retryDelaysMs: FAST_RETRIES },
    );
    try {
      await notifier.sendSignInCode(signInMail());
      assert.deepEqual(server.authAttempts, [{ user: 'mailer@example.com', pass: 'p@ss:w/rd' }]);
      assert.equal(server.received.length, 1);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a server that requires AUTH refuses a client without credentials, logged as mail.failed', async () => {
    const server = await startTestSmtpServer({ auth: { user: 'gatehouse', pass: PASSWORD } });
    const logs = captureLogs();
    const notifier = notifierFor(plainSmtp(server.port), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 0);
      assert.equal(failures(logs).length, 1);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('a wrong password is tried once (535 is permanent) and never logged, nor the right one', async () => {
    const server = await startTestSmtpServer({ auth: { user: 'gatehouse', pass: PASSWORD } });
    const logs = captureLogs();
    const wrongPassword = 'Wr0ng-Passw0rd-xyz';
    const notifier = notifierFor(plainSmtp(server.port, { auth: { user: 'gatehouse', pass: wrongPassword } }), logs);
    try {
      await notifier.sendSignInCode(signInMail());
      await assert.rejects(notifier.verify!(), (error: Error) => !error.message.includes(wrongPassword));
      assert.equal(server.received.length, 0);
      assert.equal(server.authAttempts.length, 2);
      const [failure] = failures(logs);
      assert.equal(failure?.attempts, 1);
      assert.equal(failure?.smtp_status, 535);
      const base64 = (text: string) => Buffer.from(text).toString('base64');
      for (const line of logs.lines) {
        for (const secret of [wrongPassword, PASSWORD, base64(wrongPassword), base64(`\0gatehouse\0${wrongPassword}`)]) {
          assert.ok(!line.includes(secret), line);
        }
      }
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('the SMTP password from the URL appears in no log line', async () => {
    const port = await unusedLoopbackPort();
    const logs = captureLogs();
    const notifier = createNotifier(
      { from: FROM, transport: 'smtp', smtp: { url: `smtp://gatehouse:${PASSWORD}@127.0.0.1:${port}`, tls: { ca: '' } } },
      { logger: logs.logger, retryDelaysMs: FAST_RETRIES },
    );
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(failures(logs).length, 1);
      for (const line of logs.lines) assert.ok(!line.includes(PASSWORD) && !line.includes(encodeURIComponent(PASSWORD)), line);
    } finally {
      await notifier.close();
    }
  });
});

describe('SMTP notifier over TLS', { timeout: 60_000 }, () => {
  let certificate: ReturnType<typeof createSelfSignedCertificate> | undefined;
  before(() => {
    if (hasOpenssl()) certificate = createSelfSignedCertificate();
  });
  after(() => {
    if (certificate) rmSync(certificate.dir, { recursive: true, force: true });
  });

  test('a self-signed server certificate is accepted when tls.ca names it', async (t) => {
    if (!certificate) return t.skip('openssl is not installed');
    const server = await startTestSmtpServer({ tls: { key: certificate.key, cert: certificate.cert } });
    const logs = captureLogs();
    const notifier = notifierFor({ host: '127.0.0.1', port: server.port, secure: true, tls: { ca: certificate.certFile } }, logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 1);
      assert.deepEqual(failures(logs), []);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('an smtps:// URL with tls.ca works the same', async (t) => {
    if (!certificate) return t.skip('openssl is not installed');
    const server = await startTestSmtpServer({ tls: { key: certificate.key, cert: certificate.cert } });
    const logs = captureLogs();
    const notifier = notifierFor({ url: `smtps://127.0.0.1:${server.port}`, tls: { ca: certificate.certFile } }, logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 1);
    } finally {
      await notifier.close();
      await server.close();
    }
  });

  test('without tls.ca the self-signed certificate is refused: the mail fails, it is not sent in clear', async (t) => {
    if (!certificate) return t.skip('openssl is not installed');
    const server = await startTestSmtpServer({ tls: { key: certificate.key, cert: certificate.cert } });
    const logs = captureLogs();
    const notifier = notifierFor({ host: '127.0.0.1', port: server.port, secure: true, tls: { ca: '' } }, logs);
    try {
      await notifier.sendSignInCode(signInMail());
      assert.equal(server.received.length, 0);
      const [failure] = failures(logs);
      assert.match(String(failure?.error), /self[- ]signed|certificate/i);
    } finally {
      await notifier.close();
      await server.close();
    }
  });
});
