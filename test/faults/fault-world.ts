/**
 * The real processes of the fault tests, each on a loopback port and stopped by its pid:
 * a `redis-server` of our own (append-only file, fsync on every write) that a test can
 * SIGKILL, restart with or without its data, SIGSTOP and SIGCONT; the test app in its own
 * process (fault-upstream.ts) that a test can SIGKILL or turn silent or cutting; an SMTP
 * server behind a switch that can refuse connections, reject mail or hang; the gateway
 * config those need; and sign-ins through the real pages with codes from the real mails.
 *
 * The gateway itself is the built `bin/gatehouse.js serve` (test/helpers/process.ts,
 * `built: true`): `npm run test:faults` builds first.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FormClient } from '../helpers/form-client.js';
import { startTestSmtpServer, type TestSmtpServer } from '../helpers/mail.js';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { startGatewayProcess, writeTempConfig, type GatewayProcess } from '../helpers/process.js';
import { eventually } from '../helpers/raw-http.js';
import { request } from '../helpers/servers.js';
import { codeFromMail, mailTo, submitCode, submitEmail } from '../helpers/sign-in-world.js';
import type { UpstreamCommand, UpstreamMode, UpstreamRecord, UpstreamReply } from './fault-upstream.js';

export const FAULT_SECRET = 'fault-test-secret-with-at-least-32-characters';
/** The route's host: every request of the fault tests names it. */
export const APP_HOST = 'app.test';

/** Why the fault tests cannot run here (no redis-server), or undefined. Throws under CI. */
export function faultSkipReason(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
  if (found) return undefined;
  if (process.env.CI) throw new Error('redis-server is not installed, and CI is set: the fault tests must run');
  return 'redis-server is not installed: fault tests skipped';
}

/** Resolves true when a Redis on `port` answers PING within `timeoutMs` (false while it loads its data). */
export function redisAnswersPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export interface FaultRedis {
  readonly port: number;
  /** The running redis-server's pid. */
  pid(): number;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /**
   * Starts redis-server again on the same port: with `keepData` in the same directory (the
   * append-only file is replayed), else in a fresh one (everything is gone). Resolves when
   * it answers PING.
   */
  restart(options: { keepData: boolean }): Promise<void>;
  /** SIGSTOP: the process holds its connections and answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  stop(): Promise<void>;
}

/**
 * A redis-server of this test's own on a free loopback port, in a temp directory, with
 * `appendonly yes` and `appendfsync always`: a SIGKILL loses no acknowledged write.
 */
export async function startFaultRedis(): Promise<FaultRedis> {
  // Restarted on the same port: one outside the ephemeral range (see helpers/ports.ts).
  const [port] = await freePorts(1);
  const dirs: string[] = [];
  let child: ChildProcess;
  let exited: Promise<unknown>;
  const launch = async (dir: string) => {
    child = spawn(
      'redis-server',
      ['--port', String(port!), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'],
      { stdio: 'ignore' },
    );
    exited = once(child, 'exit');
    await eventually(() => redisAnswersPing(port!), 10_000, `redis-server on ${port} answers PING`);
  };
  const freshDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fault-redis-'));
    dirs.push(dir);
    return dir;
  };
  let dir = freshDir();
  await launch(dir);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT'); // a stopped process dies on SIGKILL too, but say so plainly
      child.kill('SIGKILL');
    }
    await exited;
  };
  return {
    port: port!,
    pid: () => child.pid!,
    kill,
    async restart({ keepData }) {
      await kill();
      if (!keepData) dir = freshDir();
      await launch(dir);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    async stop() {
      await kill();
      for (const each of dirs) rmSync(each, { recursive: true, force: true });
    },
  };
}

export interface FaultUpstream {
  readonly port: number;
  readonly origin: string;
  /** Every request the app reported receiving, in order, across restarts. */
  readonly records: UpstreamRecord[];
  /** Changes how the app answers; resolves once it has. */
  setMode(mode: UpstreamMode): Promise<void>;
  /** Resolves once every request the app has received so far is in `records`. */
  sync(): Promise<void>;
  /** SIGKILL, and wait until it is gone: its port refuses connections. */
  kill(): Promise<void>;
  /** Starts the app again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const UPSTREAM_SCRIPT = new URL('./fault-upstream.ts', import.meta.url).pathname;

/** The test app (fault-upstream.ts) in a process of its own. */
export async function startFaultUpstream(): Promise<FaultUpstream> {
  const records: UpstreamRecord[] = [];
  let child: ChildProcess;
  let exited: Promise<unknown>;
  let syncs = 0;
  const pending = new Map<string, () => void>();
  const launch = async (port: number): Promise<number> => {
    child = spawn(process.execPath, ['--import', 'tsx', UPSTREAM_SCRIPT, String(port)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    exited = once(child, 'exit');
    child.on('message', (message: UpstreamReply) => {
      if (message.type === 'seen') records.push(message);
      else if (message.type === 'synced') pending.get(`sync:${message.id}`)?.();
      else pending.get(`mode:${message.mode}`)?.();
    });
    const [line] = (await Promise.race([once(child.stdout!, 'data'), exited.then(() => Promise.reject(new Error('the test app exited before it listened')))])) as [Buffer];
    return (JSON.parse(line.toString().split('\n')[0]!) as { port: number }).port;
  };
  const ask = (command: UpstreamCommand, key: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the test app did not answer ${key}`)), 5_000);
      pending.set(key, () => {
        clearTimeout(timer);
        pending.delete(key);
        resolve();
      });
      child.send(command);
    });
  const port = await launch((await freePorts(1))[0]!);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    records,
    setMode: (mode) => ask({ type: 'mode', mode }, `mode:${mode}`),
    sync: () => {
      syncs += 1;
      return ask({ type: 'sync', id: syncs }, `sync:${syncs}`);
    },
    kill,
    async restart() {
      await kill();
      await launch(port);
    },
    stop: kill,
  };
}

/** How the switchable SMTP server treats the gateway's mail. */
/** What a scenario runs beside its gateways: a Redis of its own, the app and an SMTP sink. */
export interface FaultParts {
  readonly redis: FaultRedis;
  readonly upstream: FaultUpstream;
  readonly smtp: TestSmtpServer;
  /** Stops all three (the scenario stops its gateways first). */
  stop(): Promise<void>;
}

export async function startFaultParts(): Promise<FaultParts> {
  const redis = await startFaultRedis();
  const upstream = await startFaultUpstream();
  const smtp = await startTestSmtpServer();
  return {
    redis,
    upstream,
    smtp,
    async stop() {
      await upstream.stop();
      await redis.stop();
      await smtp.close();
    },
  };
}

export type SmtpMode = 'deliver' | 'closed' | 'reject' | 'hang';

export interface SwitchableSmtp {
  /** The port the gateway sends to. */
  readonly port: number;
  /** The real SMTP server behind the switch: what it received. */
  readonly server: TestSmtpServer;
  /**
   * `deliver`: relayed to the real server. `closed`: the port refuses connections.
   * `reject`: the server answers 550 to every message. `hang`: connections are accepted and
   * never answered. Changing between `deliver`/`reject` and the others drops the open
   * connections, as a restarted or replaced server would.
   */
  setMode(mode: SmtpMode): Promise<void>;
  close(): Promise<void>;
}

/** A real SMTP server (smtp-server) behind a TCP switch on a loopback port. */
export async function startSwitchableSmtp(): Promise<SwitchableSmtp> {
  let mode: SmtpMode = 'deliver';
  const server = await startTestSmtpServer({ answerData: () => (mode === 'reject' ? 550 : undefined) });
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const makeListener = () =>
    net.createServer((client) => {
      track(client);
      if (mode === 'hang') return; // accepted, never a byte back
      const relayed = net.connect(server.port, '127.0.0.1');
      track(relayed);
      client.on('close', () => relayed.destroy());
      relayed.on('close', () => client.destroy());
      client.pipe(relayed).pipe(client);
    });
  let listener = makeListener();
  // Listened on again after `closed`: a port outside the ephemeral range (see helpers/ports.ts).
  const [port] = await freePorts(1);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(port, '127.0.0.1', resolve);
  });
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  const closeListener = () => (listener.listening ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve());
  return {
    port: port!,
    server,
    async setMode(next) {
      const relays = (m: SmtpMode) => m === 'deliver' || m === 'reject';
      const previous = mode;
      mode = next;
      if (relays(previous) !== relays(next) || next === 'closed' || previous === 'closed') dropConnections();
      if (next === 'closed') await closeListener();
      else if (!listener.listening) {
        listener = makeListener();
        await new Promise<void>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen(port, '127.0.0.1', resolve);
        });
      }
    },
    async close() {
      dropConnections();
      await closeListener();
      await server.close();
    },
  };
}

export interface GatewayYamlOptions {
  readonly port: number;
  /** The admin listener's port, or undefined for `off`. */
  readonly adminPort?: number;
  readonly adminToken?: string;
  /** A Redis port (a fresh key prefix is not needed: each test has its own Redis), or memory. */
  readonly redisPort?: number;
  readonly smtpPort: number;
  readonly upstreamPort: number;
  readonly workers?: number;
  /** Sent to the app as `X-Config-Version`, to tell which config forwarded a request. */
  readonly configVersion?: string;
  /** The `otp:` section's body (indented two spaces); generous limits unless given. */
  readonly otp?: string;
  /** The route's upstream timeout. */
  readonly routeTimeout?: string;
}

/** A gateway config for the fault tests: one route `app` (http://app.test/) to the test app. */
export function faultGatewayYaml(options: GatewayYamlOptions): string {
  const admin = options.adminPort === undefined ? '"off"' : `"127.0.0.1:${options.adminPort}"`;
  const store = options.redisPort === undefined ? 'memory' : `{ redis: { url: "redis://127.0.0.1:${options.redisPort}", prefix: "gatehouse-fault:" } }`;
  return `listen: 127.0.0.1:${options.port}
workers: ${options.workers ?? 1}
admin: { listen: ${admin}${options.adminToken ? `, token: "${options.adminToken}"` : ''} }
session:
  secret: ${FAULT_SECRET}
  store: ${store}
otp:
${options.otp ?? '  resend_after: 1s\n  max_per_email: 1000/1h\n  max_per_ip: 100000/1h'}
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${options.smtpPort}" }
routes:
  - name: app
    from: http://${APP_HOST}/
    to: http://127.0.0.1:${options.upstreamPort}
    allow: ["*@example.com"]
    public: ["/open/**"]
    timeout: ${options.routeTimeout ?? '2s'}
    headers: { X-Config-Version: "${options.configVersion ?? '1'}" }
`;
}

export interface StartedGateway {
  readonly proc: GatewayProcess;
  readonly port: number;
  readonly adminPort: number | undefined;
  /** The config file (in a temp directory of its own). */
  readonly file: string;
  /** SIGKILL if still running, then removes the config's directory (assertion keys of a memory store included). */
  stop(): Promise<void>;
}

/**
 * Writes `yaml` to a temp config (or uses `file`) and starts the built gateway on it (waits
 * for `gateway.started`). `adminPort` names the admin port when the start line does not
 * (with workers, the primary's line leaves it out).
 */
export async function startBuiltGateway(yaml: string, options: { file?: string; adminPort?: number } = {}): Promise<StartedGateway> {
  const file = options.file ?? writeTempConfig(yaml);
  const removeConfig = () => rmSync(dirname(file), { recursive: true, force: true });
  const { proc, port, adminPort } = await startGatewayProcess(file, { LOG_LEVEL: 'info' }, { built: true }).catch((error: unknown) => {
    removeConfig();
    throw error;
  });
  return {
    proc,
    port,
    adminPort: adminPort ?? options.adminPort,
    file,
    async stop() {
      await proc.stop();
      removeConfig();
    },
  };
}

/** Waits until the gateway's /readyz answers 200 (a Redis store connects in the background). */
export async function waitUntilReady(adminPort: number, timeoutMs = 10_000): Promise<void> {
  let last = 'no answer';
  await eventually(
    async () => {
      const ready = await request(adminPort, { path: '/readyz' }).catch((error: Error) => ({ status: 0, text: () => error.message }));
      last = `${ready.status} ${ready.text()}`;
      return ready.status === 200;
    },
    timeoutMs,
    'the gateway is ready',
  ).catch((error: Error) => {
    throw new Error(`${error.message} (/readyz: ${last})`);
  });
}

/** Free loopback ports for configs that must name theirs (a restart reuses the port). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await unusedLoopbackPort());
  return ports;
}

/**
 * Signs `email` in through the real pages (email form, the code from the real mail, code
 * form) on the gateway at `port`, from `localAddress` (127.x.y.z) so each guest is a client
 * of its own. Returns the guest's Cookie header. Never logs the code or the cookie.
 */
export async function signInGuest(port: number, smtp: TestSmtpServer, email: string, localAddress?: string): Promise<string> {
  const client = new FormClient(port, APP_HOST, { accept: 'text/html' }, localAddress);
  const { post, codePage } = await submitEmail(client, email, { rd: `http://${APP_HOST}/` });
  assert.ok(codePage, `the email form answered ${post.status}`);
  assert.equal(codePage.status, 200);
  const code = codeFromMail(await mailTo(smtp, email));
  const done = await submitCode(client, codePage, code);
  assert.equal(done.status, 303, 'the code signs the guest in');
  return client.cookieHeader()!;
}

/** Signs `email` in, then out again: its cookie is validly signed but names an ended session. */
export async function endedSessionCookie(port: number, smtp: TestSmtpServer, email: string, localAddress?: string): Promise<string> {
  const cookie = await signInGuest(port, smtp, email, localAddress);
  const out = await request(port, { path: '/.gatehouse/logout', headers: { host: APP_HOST, cookie, accept: 'text/html' } });
  assert.equal(out.status, 200, 'the signed-out page');
  return cookie;
}

/** A session cookie with a made-up id and signature: refused without a store lookup. */
export const FORGED_COOKIE = 'gatehouse=s%3Afault-test-forged-session-id.bm90LWEtcmVhbC1zaWduYXR1cmUtYXQtYWxsLWZvcmdlZA';
