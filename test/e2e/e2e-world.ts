/**
 * The world of the end-to-end tests: a real `gatehouse serve` process (with a clock the test
 * can move), a real SMTP server that receives the codes, and a small real app behind the
 * gateway, all on loopback. The browser reaches them under `*.localhost` names
 * (test/helpers/chromium.ts maps those to 127.0.0.1).
 *
 * The app ("Team Wiki") shows whom the gateway says is signed in, the path and query it got,
 * a sign-out link, and at /live a page whose script talks to it over a WebSocket.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before } from 'node:test';
import type { BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { chromiumSkipReason, launchChromium, type ChromiumBrowser } from '../helpers/chromium.js';
import { WebSocketServer } from 'ws';
import { escapeHtml } from '../../src/lib/html.js';
import { parseRawMail, startTestSmtpServer, type ReceivedMail, type TestSmtpServer, type TestSmtpServerOptions } from '../helpers/mail.js';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { startGatewayProcess, writeTempConfig, type GatewayProcess } from '../helpers/process.js';
import { CODE_IN_TEXT } from '../helpers/codes.js';

export const E2E_SECRET = 'e2e-secret-with-at-least-32-characters!!';

export interface TestApp {
  readonly origin: string;
  close(): Promise<void>;
}

function renderAppPage(req: http.IncomingMessage): string {
  const email = String(req.headers['x-auth-request-email'] ?? '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Team Wiki</title></head>
<body>
<h1>Team Wiki</h1>
<p>Signed in as <strong id="who">${escapeHtml(email)}</strong></p>
<p>You asked for <code id="target">${escapeHtml(req.url ?? '')}</code></p>
<p><a href="/.gatehouse/logout">Sign out</a></p>
</body></html>`;
}

const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Live</title></head>
<body>
<h1>Live updates</h1>
<p id="status">connecting</p>
<script>
  const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/socket');
  socket.onopen = () => { document.getElementById('status').textContent = 'open'; socket.send('ping'); };
  socket.onmessage = (event) => { document.getElementById('status').textContent = event.data; };
  socket.onerror = () => { document.getElementById('status').textContent = 'failed'; };
</script>
</body></html>`;

/** Starts the app on a free loopback port. `/slow` never answers (for the 504 page). */
export async function startTestApp(): Promise<TestApp> {
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/slow')) return; // the gateway's route timeout answers
    const body = req.url === '/live' ? LIVE_PAGE : renderAppPage(req);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Echoes each message with the identity the gateway sent on the upgrade request.
  const wss = new WebSocketServer({ server, path: '/socket' });
  wss.on('connection', (ws, req) => {
    const email = String(req.headers['x-auth-request-email'] ?? 'nobody');
    ws.on('message', (data) => ws.send(`${String(data)} answered for ${email}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface E2eMail {
  readonly raw: ReceivedMail;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly code: string;
  /** The link back to the code page. */
  readonly link: string;
}

function readMail(raw: ReceivedMail): E2eMail {
  const parsed = parseRawMail(raw.raw);
  const code = CODE_IN_TEXT.exec(parsed.text)?.[1];
  const link = /https?:\/\/\S+\/\.gatehouse\/code\?\S+/.exec(parsed.text)?.[0];
  if (!code || !link) throw new Error(`a mail without a code or link:\n${parsed.text}`);
  return { raw, to: raw.rcptTo.join(','), subject: parsed.header('subject') ?? '', text: parsed.text, html: parsed.html, code, link };
}

export interface E2eWorld {
  /** The gateway's port; every route is `http://<name>.localhost:<port>/`. */
  readonly port: number;
  readonly gateway: GatewayProcess;
  readonly smtp: TestSmtpServer;
  readonly app: TestApp;
  /** `http://<host>.localhost:<port><path>` */
  url(host: string, path?: string): string;
  /** Waits for mail number `index` (0-based, all recipients) and returns it with its code and text. */
  mail(index: number): Promise<E2eMail>;
  /** Waits for the `nth` (1-based) mail to `email`. */
  mailTo(email: string, nth?: number): Promise<E2eMail>;
  /** Moves the gateway's clock forward (code expiry, resend waits, lock windows). */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface E2eWorldOptions {
  /** Extra top-level YAML (e.g. `branding:` or `otp:`). */
  readonly extraYaml?: string;
  /** `session.store` value; memory by default. */
  readonly storeYaml?: string;
  /** How the mail server behaves (e.g. `acceptWhen`: one that holds its answers). */
  readonly smtp?: TestSmtpServerOptions;
}

/**
 * Routes of the world:
 *   wiki      http://wiki.localhost:PORT/      the app; *@example.com; /public/** open
 *   partners  http://partners.localhost:PORT/  the app; *@partner.test only
 *   wiki-whoami  http://wiki.localhost:PORT/whoami  the built-in whoami app, same host and guests
 *   broken    http://broken.localhost:PORT/    an upstream nobody listens on (502)
 *   slow      http://slow.localhost:PORT/      the app's /slow, with a 1 s timeout (504)
 *   vault     http://vault.localhost:PORT/     the app; *@example.com, and only with a passkey (`require: passkey`)
 */
export async function startE2eWorld(options: E2eWorldOptions = {}): Promise<E2eWorld> {
  const smtp = await startTestSmtpServer(options.smtp);
  const app = await startTestApp();
  const port = await unusedLoopbackPort();
  const deadPort = await unusedLoopbackPort();
  const host = (name: string) => `http://${name}.localhost:${port}`;
  const configFile = writeTempConfig(`
listen: 127.0.0.1:${port}
admin:
  listen: 127.0.0.1:0
session:
  secret: ${E2E_SECRET}
  store: ${options.storeYaml ?? 'memory'}
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
${options.extraYaml ?? ''}
routes:
  - name: wiki
    title: Team Wiki
    from: ${host('wiki')}/
    to: ${app.origin}
    allow: ["*@example.com"]
    public: ["/public/**"]
  - name: partners
    title: Partner Portal
    from: ${host('partners')}/
    to: ${app.origin}
    allow: ["*@partner.test"]
  - name: wiki-whoami
    title: Team Wiki
    from: ${host('wiki')}/whoami
    to: builtin:whoami
    strip_prefix: true
    allow: ["*@example.com"]
  - name: broken
    from: ${host('broken')}/
    to: http://127.0.0.1:${deadPort}
    allow: ["*@example.com"]
    public: ["/**"]
  - name: slow
    from: ${host('slow')}/
    to: ${app.origin}
    allow: ["*@example.com"]
    public: ["/**"]
    timeout: 1s
  - name: vault
    title: Vault
    from: ${host('vault')}/
    to: ${app.origin}
    allow: ["*@example.com"]
    require: passkey
`);
  let gateway: GatewayProcess;
  try {
    ({ proc: gateway } = await startGatewayProcess(configFile, {}, { adjustableClock: true }));
  } catch (error) {
    await Promise.all([smtp.close(), app.close()]);
    throw error;
  }
  return {
    port,
    gateway,
    smtp,
    app,
    url: (name, path = '/') => `${host(name)}${path}`,
    async mail(index) {
      return readMail(await smtp.waitForMessage(index));
    },
    async mailTo(email, nth = 1) {
      let seen = 0;
      for (let index = 0; ; index += 1) {
        const raw = await smtp.waitForMessage(index);
        if (raw.rcptTo.includes(email) && (seen += 1) === nth) return readMail(raw);
      }
    },
    advanceClock: (ms) => gateway.advanceClock(ms),
    async close() {
      await gateway.stop();
      await Promise.all([smtp.close(), app.close()]);
    },
  };
}

export interface E2eSuite {
  /** Why the suite's tests are skipped (no Chromium), or undefined. Pass as the tests' `skip`. */
  readonly skip: string | undefined;
  /** The running world (inside tests and hooks). */
  readonly world: E2eWorld;
  /** A new browser profile: a person of their own (English, 1280 px unless told). */
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  /** A new profile with one page, already at `url`. */
  openPage(url: string, options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * Call inside a `describe`: starts a world and Chromium before its tests and stops both
 * after them. Without Chromium the tests are skipped with the reason (CI fails instead).
 */
export function useE2eWorld(options: E2eWorldOptions = {}): E2eSuite {
  const skip = chromiumSkipReason();
  let world: E2eWorld | undefined;
  let browser: ChromiumBrowser | undefined;
  before(async () => {
    if (skip) return;
    world = await startE2eWorld(options);
    browser = launchChromium();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });
  return {
    skip,
    get world() {
      if (!world) throw new Error('the e2e world runs only inside the suite\'s tests');
      return world;
    },
    newContext: (contextOptions) => browser!.newContext(contextOptions),
    async openPage(url, contextOptions) {
      const context = await browser!.newContext(contextOptions);
      const page = await context.newPage();
      await page.goto(url);
      return { context, page };
    },
  };
}
