/**
 * The world of the front-proxy tests, every part real and on loopback: a front proxy (nginx
 * or Caddy) running the example config from config/ with only its ports and host changed, the
 * gateway (`gatehouse serve`) beside it answering the proxy's questions, a real SMTP server
 * receiving the codes, and the example app of config/express-verify-assertion.mjs behind the
 * proxy, verifying every request's assertion against the gateway's JWKS. Chromium reaches the
 * app as http://wiki.localhost:<proxy port>/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { chromiumSkipReason, launchChromium, type ChromiumBrowser } from '../helpers/chromium.js';
import { frontProxySkipReason, startCaddy, startNginx, type FrontProxy } from '../helpers/front-proxy.js';
import { parseRawMail, startTestSmtpServer, type TestSmtpServer } from '../helpers/mail.js';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { startGatewayProcess, writeTempConfig, type GatewayProcess } from '../helpers/process.js';
import { CODE_IN_TEXT } from '../helpers/codes.js';

const CONFIG_DIR = new URL('../../config/', import.meta.url).pathname;
const VERIFY_APP = join(CONFIG_DIR, 'express-verify-assertion.mjs');

export type ProxyKind = 'nginx' | 'caddy';

/** The example app, started as its header says: `node express-verify-assertion.mjs`. */
export interface VerifyingApp {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startVerifyingApp(jwksUrl: string, audience: string): Promise<VerifyingApp> {
  const port = await unusedLoopbackPort();
  const child: ChildProcess = spawn(process.execPath, [VERIFY_APP], {
    env: { PATH: process.env.PATH, GATEHOUSE_JWKS_URL: jwksUrl, APP_ORIGIN: audience, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let output = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (output.includes('verifying Gatehouse assertions')) resolve();
    });
    child.once('exit', () => reject(new Error(`the example app exited:\n${output}`)));
  });
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The example config with the test's ports and host in place of the documented ones. */
export function exampleConfig(kind: ProxyKind, ports: { proxy: number; gateway: number; app: number }): string {
  if (kind === 'nginx') {
    return readFileSync(join(CONFIG_DIR, 'nginx/gatehouse.conf'), 'utf8')
      .replace('listen 80;', `listen 127.0.0.1:${ports.proxy};`)
      .replace('server_name wiki.example.com;', 'server_name wiki.localhost;')
      .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${ports.gateway};`)
      .replace('server 127.0.0.1:3000;', `server 127.0.0.1:${ports.app};`);
  }
  const caddyfile = readFileSync(join(CONFIG_DIR, 'Caddyfile'), 'utf8')
    .replace('wiki.example.com {', `http://wiki.localhost:${ports.proxy} {`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.gateway}`)
    .replace('127.0.0.1:3000', `127.0.0.1:${ports.app}`);
  // Only for the test: no admin endpoint on :2019, nothing to fetch certificates for.
  return `{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n\n${caddyfile}`;
}

export interface ReceivedCode {
  readonly code: string;
}

export interface FrontProxyWorld {
  readonly kind: ProxyKind;
  readonly proxy: FrontProxy;
  readonly gateway: GatewayProcess;
  readonly gatewayPort: number;
  readonly app: VerifyingApp;
  readonly smtp: TestSmtpServer;
  /** The app's external origin: http://wiki.localhost:<proxy port> */
  readonly origin: string;
  /** The private key of `assertion.key_file`, when the world uses one (nginx). */
  readonly signingKeyPem: string | undefined;
  /** Waits for the `nth` (1-based) mail to `email` and returns its code. */
  codeFor(email: string, nth?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startFrontProxyWorld(kind: ProxyKind): Promise<FrontProxyWorld> {
  const smtp = await startTestSmtpServer();
  const ports = { proxy: await unusedLoopbackPort(), gateway: await unusedLoopbackPort(), app: 0 };
  const origin = `http://wiki.localhost:${ports.proxy}`;
  // nginx's world signs with a key file (and the test can mint tokens with that key); Caddy's
  // with the ring the gateway makes itself.
  const configText = (keyFile: string | undefined) => `
listen: 127.0.0.1:${ports.gateway}
# The nginx and Caddy worlds run at once: the default admin port (9090) would be taken by one.
admin: { listen: "off" }
trust_proxy: ["127.0.0.0/8"]
session:
  secret: front-proxy-secret-with-at-least-32-chars!
  store: memory
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
${keyFile ? `assertion:\n  key_file: ${keyFile}\n` : ''}
routes:
  - name: wiki
    title: Team Wiki
    from: ${origin}/
    allow: ["*@example.com"]
    public: ["/public/**"]
  - name: wiki-admin
    title: Team Wiki admin
    from: ${origin}/admin
    allow: ["boss@example.com"]
`;
  let signingKeyPem: string | undefined;
  const configFile = writeTempConfig(configText(undefined));
  if (kind === 'nginx') {
    signingKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const keyFile = join(dirname(configFile), 'assertion.pem');
    writeFileSync(keyFile, signingKeyPem, { mode: 0o600 });
    writeFileSync(configFile, configText(keyFile));
  }
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop();
    await smtp.close();
  };
  try {
    const { proc: gateway } = await startGatewayProcess(configFile);
    started.push(gateway);
    const app = await startVerifyingApp(`http://127.0.0.1:${ports.gateway}/.gatehouse/jwks.json`, origin);
    started.push(app);
    ports.app = app.port;
    const conf = exampleConfig(kind, ports);
    const proxy = kind === 'nginx' ? await startNginx(conf, ports.proxy) : await startCaddy(conf, ports.proxy);
    started.push(proxy);
    return {
      kind,
      proxy,
      gateway,
      gatewayPort: ports.gateway,
      app,
      smtp,
      origin,
      signingKeyPem,
      async codeFor(email, nth = 1) {
        let seen = 0;
        for (let index = 0; ; index += 1) {
          const raw = await smtp.waitForMessage(index);
          if (!raw.rcptTo.includes(email) || (seen += 1) !== nth) continue;
          const code = CODE_IN_TEXT.exec(parseRawMail(raw.raw).text)?.[1];
          if (!code) throw new Error('a sign-in mail without a code');
          return code;
        }
      },
      close: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export interface FrontProxySuite {
  readonly skip: string | undefined;
  readonly world: FrontProxyWorld;
  newContext(): Promise<BrowserContext>;
}

/** Call inside a `describe`: the world and Chromium before its tests, stopped after them. */
export function useFrontProxyWorld(kind: ProxyKind): FrontProxySuite {
  const skip = frontProxySkipReason(kind) ?? chromiumSkipReason();
  let world: FrontProxyWorld | undefined;
  let browser: ChromiumBrowser | undefined;
  before(async () => {
    if (skip) return;
    world = await startFrontProxyWorld(kind);
    browser = launchChromium();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });
  return {
    skip,
    get world() {
      if (!world) throw new Error('the front-proxy world runs only inside the suite\'s tests');
      return world;
    },
    newContext: () => browser!.newContext(),
  };
}
