/**
 * What the benchmarks share: child processes pinned to a core (optionally under a wrapper
 * such as valgrind), gateways with a bench config, and a sign-in through the real pages.
 * Everything listens on loopback; `stopEverything()` stops what was started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import net from 'node:net';
import { parseRawMail, type TestSmtpServer } from '../test/helpers/mail.js';
import { HEAP_FLAGS } from '../src/heap-relaunch.js';

export const SECRET = 'bench-secret-that-is-long-enough-0123456789';
const CLOCK_TICK_US = 1_000_000 / 100; // Linux USER_HZ

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

/** Runs `cleanup` in `stopEverything()`. */
export function onStop(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

/**
 * Stops one child and waits until it has exited: a child reaped during a wrk run would add
 * its CPU time (and a launcher's, its gateway's) to what runWrk reads as wrk's.
 */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Stops every child started here, then runs the registered cleanups. */
export async function stopEverything(): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  for (const cleanup of cleanups) await cleanup();
}

// On Linux with taskset and 2+ cores, the servers (the proxy under test, bare or gateway, and
// the upstream app behind it) get core 1 and the load generator (wrk, or this process for the
// WebSocket and sign-in rows, with its SMTP sink) gets core 0: the load generator then never
// caps the servers, and a ratio to the bare hop describes the proxies on one core.
export const PIN = process.platform === 'linux' && availableParallelism() >= 2 && process.env.BENCH_PIN !== '0' && existsSync('/usr/bin/taskset');
export const PROXY_CORE = '1';
export const OTHER_CORE = '0';

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly core?: string;
  /** A command the node process runs under, e.g. `['valgrind', '--tool=callgrind']`. */
  readonly wrapper?: readonly string[];
  /** A file descriptor for the child's stdout instead of a pipe. */
  readonly stdout?: number;
}

/** Starts `node <args>`, pinned to a core when pinning is on. */
export function startChild(args: string[], options: ChildOptions = {}): ChildProcess {
  return startCommand(process.execPath, args, options);
}

/** Starts an executable (node, or bin/gatehouse.js through its `#!` line), pinned to a core when pinning is on. */
export function startCommand(file: string, args: string[], options: ChildOptions = {}): ChildProcess {
  const command = [...(PIN ? ['taskset', '-c', options.core ?? OTHER_CORE] : []), ...(options.wrapper ?? []), file, ...args];
  // Each server in a session of its own, as separate services are (systemd starts each one
  // with setsid): Linux schedules a core between sessions' autogroups before it does between
  // processes, so a proxy sharing the bench's session with its upstream was scheduled unlike
  // one in its own (the relaunched gateway), and rows differed by up to 0.3x for that alone.
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', options.stdout ?? 'pipe', 'inherit'], env: { ...process.env, ...options.env }, detached: true });
  children.push(child);
  return child;
}

// The servers are in sessions of their own, so a Ctrl-C of the bench does not reach them: stop them here.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stopEverything().finally(() => process.exit(130));
  });
}

/** Starts a helper script and reads `{"port":N}` from its first line. */
export async function startPortPrinter(script: string, args: string[] = [], options: ChildOptions = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = startChild(['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args], options);
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const line = buffer.split('\n')[0];
      if (buffer.includes('\n')) resolve((JSON.parse(line!) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, port };
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function waitForHttp(port: number, path: string): Promise<void> {
  // Generous: a gateway under valgrind takes a while to start.
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      http.get({ host: '127.0.0.1', port, path }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing answered on port ${port}${path}`);
}

/** User + system CPU time of `pid` (all its threads), µs. */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
}

/** The processes `pid` has forked (e.g. nginx's workers), from every one of its threads. */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (text) pids.push(...text.split(' ').map(Number));
  }
  return pids;
}

/** Moves a running process (all its threads) to `core` when pinning is on. */
export function pinToCore(pid: number, core: string): void {
  if (!PIN) return;
  const result = spawnSync('taskset', ['--all-tasks', '--pid', '--cpu-list', core, String(pid)], { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`taskset could not pin ${pid} to core ${core}`);
}

/** A Markdown table, each column as wide as its widest cell. */
/** The middle value (the upper one of an even count); 0 for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export function formatMarkdownTable(header: readonly string[], lines: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: readonly string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  return [format(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(format)].join('\n');
}

/**
 * Busy time of one core since boot, every process counted (user, nice, system, irq and
 * softirq: not idle, iowait, or steal, the time the hypervisor gave the core to another
 * machine), µs, from /proc/stat.
 */
export function coreBusyMicros(core: string): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((text) => text.startsWith(`cpu${core} `));
  if (!line) throw new Error(`no cpu${core} in /proc/stat`);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) * CLOCK_TICK_US;
}

/** Starts `pid`'s peak RSS (VmHWM) afresh from its current RSS, so a phase can report its own peak. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

export function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

export interface GatewayProcess {
  /** The process started (the launcher, when the gateway relaunched itself). */
  readonly child: ChildProcess;
  /** The gateway's own process: what CPU time and RSS are read from. */
  readonly pid: number;
  readonly port: number;
  readonly adminPort: number;
  /** Its log (stdout), a file in the bench's temporary directory. */
  readonly logFile: string;
}

export interface GatewayOptions extends ChildOptions {
  /** Top-level YAML added to the bench config, e.g. `assertion: { enabled: false }`. */
  readonly extraConfig?: string;
  /** The `routes:` list in place of the one route `app` (http://app.test/ → the upstream). */
  readonly routes?: string;
  /**
   * How it is started, as users do: `installed` runs bin/gatehouse.js through its `#!` line,
   * `node-dist` is `node dist/run-cli.js serve` (systemd, PM2, Kubernetes). Both relaunch
   * themselves with the heap flag (src/heap-relaunch.ts). Under a wrapper (valgrind) the flag
   * is passed directly, so the wrapped process is the gateway.
   */
  readonly launch?: 'installed' | 'node-dist';
  /**
   * `lifted` (the default): code requests are practically unlimited, for sign-in load;
   * `default`: the `otp` limits as shipped (bench/flood.ts).
   */
  readonly otpLimits?: 'lifted' | 'default';
}

const LIFTED_OTP_LIMITS = `otp:
  resend_after: 1s
  max_per_email: 1000000/1h
  max_per_ip: 100000000/1h
`;

/** Starts a gateway from `dist/` with one route to the upstream; `store` is the YAML of `session.store`. */
export async function startGateway(upstreamPort: number, smtpPort: number, store: string, options: GatewayOptions = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  onStop(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    `listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:${adminPort} }
session:
  secret: ${SECRET}
  store: ${store}
${options.otpLimits === 'default' ? '' : LIFTED_OTP_LIMITS}mail:
  transport: smtp
  smtp: { url: "smtp://127.0.0.1:${smtpPort}" }
${options.extraConfig ?? ''}
routes:
${
  options.routes ??
  `  - name: app
    from: http://app.test/
    to: http://127.0.0.1:${upstreamPort}
    allow: ["*@example.com"]
    public: ["/public/**"]`
}
`,
  );
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the gateways.
  const extraNodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // Logs on, to a file, as in production: a pipe read by this process would load the load
  // generator's core.
  const logFile = join(dir, 'gateway.log');
  const logFd = openSync(logFile, 'w');
  const serveArgs = ['serve', '--config', file];
  const childOptions = { env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }, core: PROXY_CORE, wrapper: options.wrapper, stdout: logFd };
  // A wrapped or profiled node must be the gateway itself: it gets the flag and does not relaunch.
  const direct = options.wrapper !== undefined || extraNodeArgs.length > 0;
  let child: ChildProcess;
  if (direct) {
    child = startChild([...HEAP_FLAGS, ...extraNodeArgs, new URL('../dist/run-cli.js', import.meta.url).pathname, ...serveArgs], childOptions);
  } else if (options.launch === 'node-dist') {
    child = startChild([new URL('../dist/run-cli.js', import.meta.url).pathname, ...serveArgs], childOptions);
  } else {
    child = startCommand(new URL('../bin/gatehouse.js', import.meta.url).pathname, serveArgs, childOptions);
  }
  closeSync(logFd);
  await waitForHttp(adminPort, '/readyz');
  let pid = child.pid!;
  if (!direct) {
    // The launcher's one child is the gateway; measuring the launcher would measure nothing.
    const relaunched = childPids(pid);
    if (relaunched.length !== 1) throw new Error(`expected the gateway as the one child of its launcher ${pid}, found ${relaunched.length}`);
    pid = relaunched[0]!;
  }
  return { child, pid, port, adminPort, logFile };
}

export function send(port: number, options: http.RequestOptions & { body?: string }): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Signs in through the real pages (on `host`, the route's) and returns the session cookie. */
export async function signIn(port: number, smtp: TestSmtpServer, email: string, host = 'app.test'): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (headers: http.IncomingHttpHeaders) => {
    for (const line of headers['set-cookie'] ?? []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const page = await send(port, { path: '/.gatehouse/login', headers: { host, accept: 'text/html' } });
  keep(page.headers);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  const before = smtp.received.length;
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const codePage = await send(port, {
    method: 'POST',
    path: '/.gatehouse/login',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
    body: form({ email, csrf, rd: '/' }),
  });
  keep(codePage.headers);
  while (smtp.received.length === before) await new Promise((resolve) => setTimeout(resolve, 20));
  const code = /\b(\d{6,10})\b/.exec(parseRawMail(smtp.received.at(-1)!.raw).text)![1]!;
  const verified = await send(port, {
    method: 'POST',
    path: '/.gatehouse/verify',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded', cookie: cookie() },
    body: form({ code, csrf, rd: '/' }),
  });
  keep(verified.headers);
  // Every code POST answers 303; only a sign-in sets the session cookie.
  if (!jar.get('gatehouse')) throw new Error(`sign-in failed: ${verified.status} ${String(verified.headers.location)}`);
  return `gatehouse=${jar.get('gatehouse')}`;
}

