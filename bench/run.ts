/**
 * `npm run bench`: the gateway against a bare http-proxy hop, in one run so machine noise
 * cancels in the ratios. Everything listens on loopback; every load phase is bounded by
 * BENCH_SECONDS (default 10) and everything started is stopped at the end.
 *
 * Phases: bare proxy, gateway (memory store, signed in), gateway (Redis store, signed in),
 * unauthenticated redirect, sign-in code requests (mail to a local SMTP sink), a streamed
 * download, WebSocket echo throughput, then the session-store scale checks; last, the
 * forward-auth section (bench/forward-auth.ts: nginx alone, nginx + auth_request, the gateway
 * with and without the assertion, under wrk). `BENCH_ONLY=forward-auth` runs only that.
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { createClient } from 'redis';
import { startTestSmtpServer, type TestSmtpServer } from '../test/helpers/mail.js';
import { forwardAuthSection } from './forward-auth.js';
import { runWrk } from './wrk.js';
import { OTHER_CORE, PIN, PROXY_CORE, cpuMicros, formatMarkdownTable, onStop, peakRssMb, send, signIn, startGateway, startPortPrinter, stopEverything } from './harness.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { createSessions } from '../src/session/sessions.js';
import { createRedisStore } from '../src/store/redis-store.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const DOWNLOAD_BYTES = Number(process.env.BENCH_DOWNLOAD_BYTES ?? 1024 ** 3);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_SESSIONS = Number(process.env.BENCH_REDIS_SESSIONS ?? 1_000_000);
const MEMORY_SESSIONS = Number(process.env.BENCH_MEMORY_SESSIONS ?? 100_000);

interface Row {
  readonly name: string;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly cpuUsPerRequest: number;
  readonly rssMb: number;
  readonly errors: number;
  readonly note?: string;
}

const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);

// BENCH_LOAD_GENERATOR=wrk drives the proxy table's GET rows with wrk (a process of its own,
// on the load core) instead of autocannon in this process; sign-in POSTs stay on autocannon
// (a fresh address per request). Off by default: the reference run in docs/performance.md
// was made with autocannon.
const PROXY_TABLE_WRK = process.env.BENCH_LOAD_GENERATOR === 'wrk';

async function loadWithWrk(name: string, pid: number, options: autocannon.Options, expectNon2xx: boolean, warmUp: boolean): Promise<Row> {
  const run = { url: String(options.url), headers: (options.headers ?? {}) as Record<string, string>, connections: CONNECTIONS };
  if (warmUp && WARMUP_SECONDS > 0) await runWrk({ ...run, seconds: WARMUP_SECONDS });
  const cpuBefore = cpuMicros(pid);
  const result = await runWrk({ ...run, seconds: SECONDS });
  const cpu = cpuMicros(pid) - cpuBefore;
  return {
    name,
    rps: Math.round(result.requestsPerSecond),
    p50: result.p50,
    p99: result.p99,
    cpuUsPerRequest: result.requests ? Math.round(cpu / result.requests) : 0,
    rssMb: peakRssMb(pid),
    errors: result.socketErrors + (expectNon2xx ? 0 : result.non2xx),
  };
}

async function load(name: string, pid: number, options: autocannon.Options, expectNon2xx = false, warmUp = true): Promise<Row> {
  if (PROXY_TABLE_WRK && !options.requests) return loadWithWrk(name, pid, options, expectNon2xx, warmUp);
  // Unmeasured warm-up first, so every phase is measured with a warm JIT and warm pools.
  if (warmUp && WARMUP_SECONDS > 0) await autocannon({ connections: CONNECTIONS, ...options, duration: WARMUP_SECONDS });
  const cpuBefore = cpuMicros(pid);
  const result = await autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options });
  const cpu = cpuMicros(pid) - cpuBefore;
  const requests = result.requests.total;
  return {
    name,
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUsPerRequest: requests ? Math.round(cpu / requests) : 0,
    rssMb: peakRssMb(pid),
    errors: result.errors + result.timeouts + (expectNon2xx ? 0 : result.non2xx),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The median of each measure over the rounds; the peak RSS is the largest seen. */
function medianRow(rows: readonly Row[]): Row {
  return {
    name: rows[0]!.name,
    rps: median(rows.map((row) => row.rps)),
    p50: median(rows.map((row) => row.p50)),
    p99: median(rows.map((row) => row.p99)),
    cpuUsPerRequest: median(rows.map((row) => row.cpuUsPerRequest)),
    rssMb: Math.max(...rows.map((row) => row.rssMb)),
    errors: rows.reduce((sum, row) => sum + row.errors, 0),
  };
}

async function downloadMiBps(port: number, headers: http.OutgoingHttpHeaders): Promise<number> {
  const started = process.hrtime.bigint();
  const received = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/download?bytes=${DOWNLOAD_BYTES}`, headers }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve(bytes));
      })
      .on('error', reject);
  });
  if (received !== DOWNLOAD_BYTES) throw new Error(`download got ${received} of ${DOWNLOAD_BYTES} bytes`);
  return DOWNLOAD_BYTES / 1048576 / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** WebSocket echo round trips per second over 50 connections for the phase duration. */
async function websocketMessagesPerSecond(port: number, headers: Record<string, string>): Promise<number> {
  const sockets = await Promise.all(
    Array.from({ length: CONNECTIONS }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    })),
  );
  const payload = Buffer.alloc(128, 'm');
  let echoes = 0;
  const until = Date.now() + Math.min(SECONDS, 5) * 1000;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('message', () => {
            echoes += 1;
            if (Date.now() < until) ws.send(payload);
            else resolve();
          });
          ws.send(payload);
        }),
    ),
  );
  for (const ws of sockets) ws.terminate();
  return Math.round(echoes / Math.min(SECONDS, 5));
}

async function memoryStoreScale(): Promise<string> {
  const kv = createMemoryStore({ maxEntries: MEMORY_SESSIONS * 2 });
  let counter = 0;
  const sessions = createSessions(kv, { timeouts: () => ({ lifetime: 86_400_000, idle_timeout: null }), newSessionId: () => `${(counter += 1).toString(36).padStart(8, '0')}abcdefghijklmnopqrstuvwx` });
  global.gc?.();
  const before = process.memoryUsage().rss;
  const now = Date.now();
  for (let i = 0; i < MEMORY_SESSIONS; i += 1) await sessions.create({ email: `guest${i}@example.com`, signedInAt: now });
  global.gc?.();
  const extraMb = (process.memoryUsage().rss - before) / 1048576;
  await kv.close();
  return `memory store: ${MEMORY_SESSIONS.toLocaleString('en')} live sessions took ${extraMb.toFixed(1)} MB of extra RSS`;
}

async function redisLookupScale(): Promise<string> {
  const prefix = `gatehouse-bench:${process.pid}:`;
  const store = createRedisStore({ url: REDIS_URL, prefix });
  const raw = createClient({ url: REDIS_URL });
  await raw.connect();
  let nextId = 0;
  // Sessions made by the session owner itself, under the names the lookups use.
  const sessions = createSessions(store, { timeouts: () => ({ lifetime: 600_000, idle_timeout: null }), newSessionId: () => `s${nextId++}` });
  const timeLookups = async (): Promise<number> => {
    const rounds = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i += 1) await sessions.read(`s${i % 1000}`);
    return Number(process.hrtime.bigint() - started) / 1000 / rounds;
  };
  const results: string[] = [];
  let stored = 0;
  try {
    for (const target of [1, 1000, REDIS_SESSIONS]) {
      while (stored < target) {
        const end = Math.min(target, stored + 5000);
        const batch: Array<Promise<string>> = [];
        for (; stored < end; stored += 1) batch.push(sessions.create({ email: 'g@example.com', signedInAt: Date.now() }));
        await Promise.all(batch);
      }
      await timeLookups(); // warm
      results.push(`${stored.toLocaleString('en')}: ${(await timeLookups()).toFixed(0)} µs`);
    }
  } finally {
    let cursor = '0';
    do {
      const reply = await raw.scan(cursor, { MATCH: `${prefix}*`, COUNT: 10_000 });
      cursor = String(reply.cursor);
      if (reply.keys.length) await raw.unlink(reply.keys);
    } while (cursor !== '0');
    await raw.quit();
    await store.close();
  }
  return `redis session lookup (one GET, sequential) with ${results.join(', ')} stored sessions`;
}

function formatTable(rows: readonly Row[], bare: Row): string {
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'peak RSS MB', 'vs bare (req/s, p99, CPU)', 'errors'];
  const lines = rows.map((row) => [
    row.name,
    String(row.rps),
    String(row.p50),
    String(row.p99),
    String(row.cpuUsPerRequest),
    String(row.rssMb),
    row === bare ? '1.00, 1.00, 1.00' : `${(row.rps / bare.rps).toFixed(2)}, ${(row.p99 / bare.p99).toFixed(2)}, ${(row.cpuUsPerRequest / bare.cpuUsPerRequest).toFixed(2)}`,
    String(row.errors),
  ]);
  return formatMarkdownTable(header, lines);
}

/** The proxy table (the `BENCH_ONLY` keys pick its rows; the bare hop always runs), then the download, WebSocket and store checks. */
async function proxyScenarios(smtp: TestSmtpServer, only: ReadonlySet<string>): Promise<void> {
  console.log(`gatehouse bench: ${PIN ? 'proxy under test pinned to core 1, load and upstream on core 0; ' : ''}load from ${PROXY_TABLE_WRK ? 'wrk (sign-in: autocannon)' : 'autocannon'}; ${ROUNDS} rounds of ${SECONDS}s per scenario (medians), ${CONNECTIONS} connections, 1 KiB responses`);
  const upstream = await startPortPrinter('./upstream-server.ts');
  const bare = await startPortPrinter('./bare-proxy.ts', [String(upstream.port)], { core: PROXY_CORE });
  // The installed command (bin/gatehouse.js through its #! line) for every row, and the same
  // gateway started as `node dist/run-cli.js serve` (systemd, PM2, Kubernetes) for the
  // signed-in and download rows: both must be equally fast (src/heap-relaunch.ts).
  const memoryGw = await startGateway(upstream.port, smtp.port, 'memory', { launch: 'installed' });
  const memoryDistGw = await startGateway(upstream.port, smtp.port, 'memory', { launch: 'node-dist' });
  const redisGw = await startGateway(upstream.port, smtp.port, `\n    redis:\n      url: ${REDIS_URL}\n      prefix: "gatehouse-bench-${process.pid}:"`);
  // Sign-in load fills its gateway's store with pending codes: it gets a gateway of its own.
  const signInGw = await startGateway(upstream.port, smtp.port, 'memory');
  const memoryCookie = await signIn(memoryGw.port, smtp, 'bench@example.com');
  const memoryDistCookie = await signIn(memoryDistGw.port, smtp, 'bench@example.com');
  const redisCookie = await signIn(redisGw.port, smtp, 'bench@example.com');

  // Sign-in: a code request per POST (fresh address each time), mail to the local sink.
  const page = await send(signInGw.port, { path: '/.gatehouse/login', headers: { host: 'app.test', accept: 'text/html' } });
  const csrfCookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
  let signInCounter = 0;

  interface Scenario {
    readonly key: string;
    readonly name: string;
    readonly pid: number;
    readonly options: autocannon.Options;
    readonly expectNon2xx?: boolean;
  }
  const scenarios: Scenario[] = [
    { key: 'bare', name: 'bare http-proxy (yardstick)', pid: bare.child.pid!, options: { url: `http://127.0.0.1:${bare.port}/page` } },
    {
      key: 'memory',
      name: 'gateway, signed in, memory store',
      pid: memoryGw.pid,
      options: { url: `http://127.0.0.1:${memoryGw.port}/page`, headers: { host: 'app.test', cookie: memoryCookie } },
    },
    {
      key: 'memory-dist',
      name: 'same, started as node dist/run-cli.js',
      pid: memoryDistGw.pid,
      options: { url: `http://127.0.0.1:${memoryDistGw.port}/page`, headers: { host: 'app.test', cookie: memoryDistCookie } },
    },
    {
      key: 'redis',
      name: 'gateway, signed in, Redis store',
      pid: redisGw.pid,
      options: { url: `http://127.0.0.1:${redisGw.port}/page`, headers: { host: 'app.test', cookie: redisCookie } },
    },
    { key: 'public', name: 'gateway, public path', pid: memoryGw.pid, options: { url: `http://127.0.0.1:${memoryGw.port}/public/page`, headers: { host: 'app.test' } } },
    {
      key: 'redirect',
      name: 'gateway, unauthenticated redirect (302)',
      pid: memoryGw.pid,
      options: { url: `http://127.0.0.1:${memoryGw.port}/page`, headers: { host: 'app.test', accept: 'text/html' } },
      expectNon2xx: true,
    },
    {
      key: 'signin',
      name: 'sign-in: code requests (mail to SMTP sink)',
      pid: signInGw.pid,
      expectNon2xx: true, // each code request answers 303 to the code page
      options: {
        url: `http://127.0.0.1:${signInGw.port}/.gatehouse/login`,
        headers: { host: 'app.test', 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
        requests: [
          {
            method: 'POST',
            // A fresh address per request, so the per-address limits never apply.
            setupRequest: (req) => ({ ...req, body: `email=bench-${(signInCounter += 1)}%40example.com&csrf=${encodeURIComponent(csrf)}&rd=%2F` }),
          },
        ],
      },
    },
  ];
  const selected = scenarios.filter((scenario) => only.size === 0 || only.has(scenario.key) || scenario.key === 'bare');
  // Rounds interleave the scenarios, and the table shows each one's median: a burst of
  // noise on this shared machine then moves one sample, not a whole column.
  // Sign-in load leaves mail to send for a while after it stops, so it runs after the rest
  // instead of taking CPU from their rounds.
  const samples = new Map<string, Row[]>(selected.map((scenario) => [scenario.key, []]));
  const interleaved = selected.filter((scenario) => scenario.key !== 'signin');
  const last = selected.filter((scenario) => scenario.key === 'signin');
  for (const group of [interleaved, last]) {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const scenario of group) {
        samples.get(scenario.key)!.push(await load(scenario.name, scenario.pid, scenario.options, scenario.expectNon2xx, round === 0));
      }
    }
  }
  signInGw.child.kill('SIGTERM');
  const rows = selected.map((scenario) => medianRow(samples.get(scenario.key)!));
  const bareRow = rows[0]!;
  console.log(`\n${formatTable(rows, bareRow)}\n`);
  // Best of two alternating runs each: a single transfer is at the mercy of the scheduler.
  let bareDownload = 0;
  let gatewayDownload = 0;
  let distDownload = 0;
  for (let run = 0; run < 2; run += 1) {
    bareDownload = Math.max(bareDownload, await downloadMiBps(bare.port, {}));
    gatewayDownload = Math.max(gatewayDownload, await downloadMiBps(memoryGw.port, { host: 'app.test', cookie: memoryCookie }));
    distDownload = Math.max(distDownload, await downloadMiBps(memoryDistGw.port, { host: 'app.test', cookie: memoryDistCookie }));
  }
  console.log(
    `streamed download of ${(DOWNLOAD_BYTES / 1048576).toFixed(0)} MiB: bare ${bareDownload.toFixed(0)} MiB/s, gateway ${gatewayDownload.toFixed(0)} MiB/s (${(gatewayDownload / bareDownload).toFixed(2)}x), started as node dist/run-cli.js ${distDownload.toFixed(0)} MiB/s (${(distDownload / bareDownload).toFixed(2)}x)`,
  );
  const bareWs = await websocketMessagesPerSecond(bare.port, {});
  const gatewayWs = await websocketMessagesPerSecond(memoryGw.port, { host: 'app.test', cookie: memoryCookie });
  console.log(`WebSocket echo, 128 B messages over ${CONNECTIONS} connections: bare ${bareWs}/s, gateway ${gatewayWs}/s (${(gatewayWs / bareWs).toFixed(2)}x)`);
  console.log(await memoryStoreScale());
  console.log(await redisLookupScale());
  console.log(`gateway peak RSS: memory ${peakRssMb(memoryGw.pid)} MB, Redis ${peakRssMb(redisGw.pid)} MB`);
}

async function main(): Promise<void> {
  if (PIN) spawnSync('taskset', ['-p', '-c', OTHER_CORE, String(process.pid)], { stdio: 'ignore' });
  // BENCH_ONLY=memory,redis picks rows of the proxy table; BENCH_ONLY=forward-auth runs that
  // section alone (under a minute with BENCH_SECONDS=3 BENCH_ROUNDS=1).
  const only = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  if (only.size === 0 || [...only].some((key) => key !== 'forward-auth')) await proxyScenarios(smtp, only);
  if (only.size === 0 || only.has('forward-auth')) {
    const nginxKeepalive = process.env.BENCH_NGINX_KEEPALIVE ? Number(process.env.BENCH_NGINX_KEEPALIVE) : undefined;
    console.log(
      `\nforward-auth: ${nginxKeepalive === undefined ? '' : `nginx keepalive ${nginxKeepalive} (not the shipped 16); `}wrk ${PIN ? `alone on core ${OTHER_CORE}, nginx, gateways and upstream on core ${PROXY_CORE}; ` : ''}${ROUNDS} rounds of ${SECONDS}s per row (medians), ${CONNECTIONS} connections, signed in, 1 KiB responses`,
    );
    console.log(`\n${await forwardAuthSection({ seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, warmupSeconds: WARMUP_SECONDS, smtp, nginxKeepalive })}\n`);
  }
}

main()
  .then(stopEverything, async (error: unknown) => {
    console.error(error);
    await stopEverything();
    process.exitCode = 1;
  })
  .finally(() => setTimeout(() => process.exit(), 3000).unref());
