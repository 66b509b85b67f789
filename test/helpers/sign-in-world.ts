/**
 * A sign-in "world" for integration tests: a recording upstream, a real SMTP server that
 * receives the codes, and a gateway in front, on the memory or a real Redis store, with a
 * clock the test can move forward.
 */
import assert from 'node:assert/strict';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from './servers.js';
import { TestBrowser, hiddenField } from './browser.js';
import { uniqueRedisPrefix, REDIS_URL } from './redis.js';
import { captureLogs, parseRawMail, startTestSmtpServer, type TestSmtpServer } from './mail.js';

export const SECRET = 'test-secret-with-at-least-32-characters!!';

export interface SignInWorld {
  readonly gw: TestGateway;
  readonly upstream: TestUpstream;
  readonly smtp: TestSmtpServer;
  readonly logs: ReturnType<typeof captureLogs>;
  /** Moves the gateway's clock forward. */
  advance(ms: number): void;
  browser(): TestBrowser;
  close(): Promise<void>;
}

export type StoreKind = 'memory' | 'redis';

/** A gateway in front of a recording upstream, mailing through a real SMTP server. */
export async function startSignInWorld(
  store: StoreKind,
  extraYaml = '',
  routesYaml?: string | ((upstreamOrigin: string) => string),
  redisUrl = REDIS_URL,
  sessionYaml = '',
): Promise<SignInWorld> {
  const upstream = await startUpstream();
  const smtp = await startTestSmtpServer();
  const logs = captureLogs();
  let offset = 0;
  const storeYaml = store === 'memory' ? 'memory' : `\n    redis:\n      url: ${redisUrl}\n      prefix: "${uniqueRedisPrefix()}"`;
  const gw = await startGateway(
    `
session:
  secret: ${SECRET}
${sessionYaml}
  store: ${storeYaml}
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
groups:
  partners: ["alice@partner.test"]
${extraYaml}
routes:
${
  (typeof routesYaml === 'function' ? routesYaml(upstream.origin) : routesYaml) ??
  `  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com", "group:partners"]
    public: ["/open/**"]
  - name: other
    from: http://other.test/
    to: ${upstream.origin}
    allow: ["carol@example.com"]`
}
`,
    { logger: logs.logger, clock: () => Date.now() + offset },
  );
  return {
    gw,
    upstream,
    smtp,
    logs,
    advance: (ms) => {
      offset += ms;
    },
    browser: () => new TestBrowser(gw.port, 'app.test'),
    close: async () => {
      await gw.close();
      await upstream.close();
      await smtp.close();
    },
  };
}

/** Waits until the SMTP server has `count` messages (mail is sent after the response). */
export async function waitForMails(smtp: TestSmtpServer, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (smtp.received.length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${smtp.received.length}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function codeFromMail(raw: string): string {
  const match = /\b(\d{6})\b/.exec(parseRawMail(raw).text);
  if (!match) throw new Error('no code in the mail');
  return match[1]!;
}

/** Signs `browser` in as `email`; returns the response to the code POST. */
export async function signIn(world: SignInWorld, browser: TestBrowser, email: string, rd = 'http://app.test/'): Promise<ReturnType<TestBrowser['get']>> {
  const loginPage = await browser.get(`/.gatehouse/login?rd=${encodeURIComponent(rd)}`);
  assert.equal(loginPage.status, 200);
  const mailsBefore = world.smtp.received.length;
  const codePage = await browser.postForm('/.gatehouse/login', { email, csrf: hiddenField(loginPage.text(), 'csrf'), rd: hiddenField(loginPage.text(), 'rd') });
  assert.equal(codePage.status, 200, codePage.text());
  await waitForMails(world.smtp, mailsBefore + 1);
  const code = codeFromMail(world.smtp.received.at(-1)!.raw);
  return browser.postForm('/.gatehouse/verify', { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: hiddenField(codePage.text(), 'rd') });
}

