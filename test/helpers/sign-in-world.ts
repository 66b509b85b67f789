/**
 * A sign-in "world" for integration tests: a recording upstream, a real SMTP server that
 * receives the codes, and a gateway in front, on the memory or a real Redis store, with a
 * clock the test can move forward.
 */
import assert from 'node:assert/strict';
import { startGateway, startUpstream, type TestGateway, type TestUpstream } from './servers.js';
import { FormClient, hiddenField } from './form-client.js';
import { uniqueRedisPrefix, REDIS_URL } from './redis.js';
import { captureLogs, parseRawMail, startTestSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from './mail.js';
import { createSmtpNotifier } from '../../src/mail/smtp-notifier.js';
import { createGatewayMemoryStore } from '../../src/store/create-store.js';
import type { MemoryKeyValueStore } from '../../src/store/memory-store.js';
import { CODE_IN_TEXT } from './codes.js';

export const SECRET = 'test-secret-with-at-least-32-characters!!';

export interface SignInWorld {
  readonly gw: TestGateway;
  readonly upstream: TestUpstream;
  readonly smtp: TestSmtpServer;
  readonly logs: ReturnType<typeof captureLogs>;
  /** The gateway's memory store when the test asked for a smaller one (`memoryMaxEntries`). */
  readonly store: MemoryKeyValueStore | undefined;
  /** Moves the gateway's clock forward. */
  advance(ms: number): void;
  client(): FormClient;
  close(): Promise<void>;
}

/** The memory store, the Redis at REDIS_URL, or a `store:` block of YAML (indented for `    `). */
export type StoreKind = 'memory' | 'redis' | { readonly yaml: string };

/** A gateway in front of a recording upstream, mailing through a real SMTP server. */
export async function startSignInWorld(
  store: StoreKind,
  extraYaml = '',
  routesYaml?: string | ((upstreamOrigin: string) => string),
  redisUrl = REDIS_URL,
  sessionYaml = '',
  options: {
    memoryMaxEntries?: number;
    /** How the SMTP server behaves (e.g. `acceptWhen`: a server slower than the mail coming in). */
    smtp?: TestSmtpServerOptions;
    /** A smaller mail outbox, so a test can fill it. */
    maxPendingMails?: number;
  } = {},
): Promise<SignInWorld> {
  const upstream = await startUpstream();
  const smtp = await startTestSmtpServer(options.smtp);
  const logs = captureLogs();
  let offset = 0;
  const clock = () => Date.now() + offset;
  const smallStore = options.memoryMaxEntries === undefined ? undefined : createGatewayMemoryStore({ clock, maxEntries: options.memoryMaxEntries });
  const storeYaml =
    store === 'memory' ? 'memory' : store === 'redis' ? `\n    redis:\n      url: ${redisUrl}\n      prefix: "${uniqueRedisPrefix()}"` : `\n${store.yaml}`;
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
    {
      logger: logs.logger,
      clock,
      // The gateway's own memory store, made smaller so a test can fill it.
      store: smallStore,
      notifier:
        options.maxPendingMails === undefined
          ? undefined
          : createSmtpNotifier({ from: 'Gatehouse <gate@example.test>', smtp: { host: '127.0.0.1', port: smtp.port, secure: false, tls: { ca: '' } }, logger: logs.logger, maxPendingMails: options.maxPendingMails }),
    },
  );
  return {
    gw,
    upstream,
    smtp,
    logs,
    store: smallStore as MemoryKeyValueStore | undefined,
    advance: (ms) => {
      offset += ms;
    },
    client: () => new FormClient(gw.port, 'app.test'),
    close: async () => {
      await gw.close();
      await smallStore?.close();
      await upstream.close();
      await smtp.close();
    },
  };
}

/** Waits until the SMTP server has `count` messages (mail is sent after the response). */
export async function waitForMails(smtp: TestSmtpServer, count: number, timeoutMs = 5000): Promise<void> {
  if (count > 0) await smtp.waitForMessage(count - 1, timeoutMs);
}

/** Waits for the `nth` (1-based) mail to `email` among everything the server receives. */
export async function mailTo(smtp: TestSmtpServer, email: string, nth = 1, timeoutMs = 10_000): Promise<string> {
  let seen = 0;
  for (let index = 0; ; index += 1) {
    const mail = await smtp.waitForMessage(index, timeoutMs);
    if (mail.rcptTo.includes(email) && (seen += 1) === nth) return mail.raw;
  }
}

export function codeFromMail(raw: string): string {
  const match = CODE_IN_TEXT.exec(parseRawMail(raw).text);
  if (!match) throw new Error('no code in the mail');
  return match[1]!;
}

type Response = Awaited<ReturnType<FormClient['get']>>;

/**
 * Asks for a code as the email form does: the POST answers 303 to the code page, which is
 * then fetched. Returns both; `codePage` is undefined when the POST did not redirect there.
 */
export async function submitEmail(
  client: FormClient,
  email: string,
  options: { rd?: string; form?: Response; extra?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ post: Response; codePage: Response | undefined }> {
  const form = options.form ?? (await client.get(`/.gatehouse/login?rd=${encodeURIComponent(options.rd ?? '/')}`));
  const post = await client.postForm('/.gatehouse/login', {
    email,
    csrf: hiddenField(form.text(), 'csrf'),
    rd: options.rd ?? hiddenField(form.text(), 'rd'),
    ...options.extra,
  }, options.headers);
  const location = String(post.headers.location ?? '');
  if (post.status !== 303 || !location.startsWith('/.gatehouse/code')) return { post, codePage: undefined };
  return { post, codePage: await client.get(location) };
}

/** Submits a code from the code page; returns the POST's answer (303 to rd on success). */
export function submitCode(client: FormClient, codePage: Response, code: string): Promise<Response> {
  return client.postForm('/.gatehouse/verify', { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: hiddenField(codePage.text(), 'rd') });
}

/** Signs `client` in as `email`; returns the response to the code POST. */
export async function signIn(world: SignInWorld, client: FormClient, email: string, rd = 'http://app.test/'): Promise<Response> {
  const mailsBefore = world.smtp.received.length;
  const { post, codePage } = await submitEmail(client, email, { rd });
  assert.ok(codePage, `the email form answered ${post.status} ${post.text()}`);
  assert.equal(codePage.status, 200, codePage.text());
  await waitForMails(world.smtp, mailsBefore + 1);
  const code = codeFromMail(world.smtp.received.at(-1)!.raw);
  return submitCode(client, codePage, code);
}

/** Signs `email` in on `host` (a route's host) with a client of its own; returns its Cookie header. */
export async function signedInCookie(world: SignInWorld, email: string, host = 'app.test'): Promise<string> {
  const client = new FormClient(world.gw.port, host);
  const done = await signIn(world, client, email, `http://${host}/`);
  assert.equal(done.status, 303, done.text());
  return client.cookieHeader()!;
}
