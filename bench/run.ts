/**
 * `npm run bench`: the gateway against a bare http-proxy hop, in one run so machine noise
 * cancels in the ratios. Everything listens on loopback; every load phase is bounded by
 * BENCH_SECONDS (default 8), repeated in BENCH_ROUNDS interleaved rounds (default 3; the
 * tables show medians), and everything started is stopped at the end.
 *
 * A ratio only means something when the proxy under test is the bottleneck, so the load
 * generator gets a core of its own: wrk alone on core 0 (the WebSocket and sign-in rows: this
 * process, pinned there), and every server — the bare hop, each gateway, and the upstream
 * behind them — on core 1. Each row reports the proxy's CPU per request (or MiB, or message)
 * from /proc, the upstream's, and the busy shares of the servers and of the load generator.
 *
 * Sections (`BENCH_ONLY`, comma-separated, picks them; the bare hop always runs with a section):
 *   - the proxy table (keys bare, memory, memory-dist, redis, public, redirect, signin): 1 KiB
 *     static files from nginx (bench/static-upstream.ts), wrk with BENCH_CONNECTIONS (50);
 *     `signin` (only when named) sends code requests from autocannon with the limits lifted;
 *   - `bodies`: 10 parallel 10 MiB downloads (nginx) and uploads (a Node sink), MiB/s;
 *   - `ws`: WebSocket echoes (a Node echo upstream);
 *   - `stores`: the session-store scale checks;
 *   - `flood`: sign-in under a flood of code requests with the default limits (bench/flood.ts);
 *   - `forward-auth` (bench/forward-auth.ts: nginx alone, nginx + auth_request, the gateway
 *     with and without the assertion, under wrk).
 */
import { spawnSync } from 'node:child_process';
import { createClient } from 'redis';
import { startTestSmtpServer, type TestSmtpServer } from '../test/helpers/mail.js';
import { forwardAuthSection } from './forward-auth.js';
import { floodSection } from './flood.js';
import { OTHER_CORE, PIN, PROXY_CORE, formatMarkdownTable, freePort, onStop, peakRssMb, send, signIn, startGateway, startPortPrinter, stopChild, stopEverything, type GatewayProcess } from './harness.js';
import {
  formatBusy,
  medianSample,
  sampleBodies,
  sampleEchoes,
  sampleRequestsWithAutocannon,
  sampleRequestsWithWrk,
  sharedWithOthersNote,
  type Busy,
  type BodySample,
  type MessageSample,
  type RequestSample,
  type Servers,
  type WrkRow,
} from './proxy-measures.js';
import { startStaticUpstream } from './static-upstream.js';
import { createMemoryStore } from '../src/store/memory-store.js';
import { createSessions } from '../src/session/sessions.js';
import { createRedisStore } from '../src/store/redis-store.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const BIG_BODY_BYTES = 10 * 1048576;
const BIG_BODY_CONNECTIONS = 10;
// Echoes each WebSocket connection keeps in flight: with one, this process (the client)
// spends more per message than the proxy does, and the client would be what is measured.
const WS_IN_FLIGHT = Number(process.env.BENCH_WS_IN_FLIGHT ?? 8);
const WS_MESSAGE_BYTES = 128;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_SESSIONS = Number(process.env.BENCH_REDIS_SESSIONS ?? 1_000_000);
const MEMORY_SESSIONS = Number(process.env.BENCH_MEMORY_SESSIONS ?? 100_000);

const TABLE_KEYS = ['bare', 'memory', 'memory-dist', 'redis', 'public', 'redirect', 'signin'] as const;
type TableKey = (typeof TABLE_KEYS)[number];
const SECTION_KEYS = ['bodies', 'ws', 'stores', 'flood', 'forward-auth'] as const;

/**
 * The bench gateways' routes: the app (the 1 KiB pages, the public path and the downloads)
 * on nginx, and /ws and /upload on the Node upstream (its echo and its sink), as the bare
 * hop routes them.
 */
function benchRoutes(staticPort: number, nodePort: number): string {
  return [
    ['app', '/', staticPort, '\n    public: ["/public/**"]'],
    ['ws', '/ws', nodePort, ''],
    ['upload', '/upload', nodePort, ''],
  ]
    .map(([name, path, port, extra]) => `  - name: ${name}\n    from: http://app.test${path}\n    to: http://127.0.0.1:${port}\n    allow: ["*@example.com"]${extra}`)
    .join('\n');
}

/** Runs `sample` for every target in interleaved rounds (a burst of noise moves one sample, not a row) and returns each target's median. */
async function interleavedMedians<Target, Sample extends object>(targets: readonly Target[], sample: (target: Target, round: number) => Promise<Sample>): Promise<Sample[]> {
  const samples = targets.map((): Sample[] => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [i, target] of targets.entries()) samples[i]!.push(await sample(target, round));
  }
  return samples.map((list) => medianSample(list));
}

const ratio = (value: number, yardstick: number) => (yardstick ? (value / yardstick).toFixed(2) : '—');
const us = (value: number) => value.toFixed(1);

/** The table, and the † note under it when a row shared its cores with other work. */
function withSharedNote(table: string, rows: ReadonlyArray<{ readonly name: string; readonly busy: Busy }>): string {
  const note = sharedWithOthersNote(rows);
  return note ? `${table}\n\n${note}` : table;
}

interface TableRow {
  readonly key: TableKey;
  readonly name: string;
  readonly servers: Servers;
  readonly measure: (warmupSeconds: number) => Promise<RequestSample>;
}

function formatProxyTable(rows: ReadonlyArray<{ row: TableRow; sample: RequestSample }>): string {
  const bare = rows[0]!.sample;
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'upstream CPU µs/req', 'proxy peak RSS MB', 'vs bare (req/s, p99, proxy CPU)', 'busy: servers / load', 'busy: core 1 / core 0', 'errors'];
  const lines = rows.map(({ row, sample }) => [
    row.name,
    String(sample.rps),
    sample.p50.toFixed(2),
    sample.p99.toFixed(2),
    us(sample.proxyCpuUsPerRequest),
    row.key === 'signin' ? '—' : us(sample.upstreamCpuUsPerRequest),
    String(sample.rssMb),
    `${ratio(sample.rps, bare.rps)}, ${ratio(sample.p99, bare.p99)}, ${ratio(sample.proxyCpuUsPerRequest, bare.proxyCpuUsPerRequest)}`,
    ...formatBusy(sample),
    String(sample.errors),
  ]);
  return withSharedNote(formatMarkdownTable(header, lines), rows.map(({ row, sample }) => ({ name: row.name, busy: sample })));
}

interface BodyTarget {
  readonly name: string;
  readonly port: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly proxyPid: number;
}

function formatBodiesTable(rows: ReadonlyArray<{ name: string; bare: BodySample; sample: BodySample }>): string {
  const header = ['row', 'MiB/s', 'proxy CPU µs/MiB', 'upstream CPU µs/MiB', 'vs bare (MiB/s, proxy CPU)', 'proxy peak RSS MB', 'busy: servers / load', 'busy: core 1 / core 0', 'errors'];
  const lines = rows.map(({ name, bare, sample }) => [
    name,
    sample.mibPerSecond.toFixed(0),
    sample.proxyCpuUsPerMiB.toFixed(0),
    sample.upstreamCpuUsPerMiB.toFixed(0),
    `${ratio(sample.mibPerSecond, bare.mibPerSecond)}, ${ratio(sample.proxyCpuUsPerMiB, bare.proxyCpuUsPerMiB)}`,
    String(sample.rssMb),
    ...formatBusy(sample),
    String(sample.errors),
  ]);
  return withSharedNote(formatMarkdownTable(header, lines), rows.map(({ name, sample }) => ({ name, busy: sample })));
}

function formatEchoTable(rows: ReadonlyArray<{ name: string; sample: MessageSample }>): string {
  const bare = rows[0]!.sample;
  const header = ['row', 'echoes/s', 'proxy CPU µs/msg', 'upstream CPU µs/msg', 'vs bare (echoes/s, proxy CPU)', 'busy: servers / load (this process)', 'busy: core 1 / core 0', 'errors'];
  const lines = rows.map(({ name, sample }) => [
    name,
    String(sample.messagesPerSecond),
    us(sample.proxyCpuUsPerMessage),
    us(sample.upstreamCpuUsPerMessage),
    `${ratio(sample.messagesPerSecond, bare.messagesPerSecond)}, ${ratio(sample.proxyCpuUsPerMessage, bare.proxyCpuUsPerMessage)}`,
    ...formatBusy(sample),
    String(sample.errors),
  ]);
  return withSharedNote(formatMarkdownTable(header, lines), rows.map(({ name, sample }) => ({ name, busy: sample })));
}

/** The proxy table, the big bodies and the WebSocket echoes, as `only` picks them. */
async function proxySections(smtp: TestSmtpServer, only: ReadonlySet<string>): Promise<void> {
  const all = only.size === 0;
  // The sign-in row (code requests with the limits lifted, so mostly the outbox-full 503 once
  // its 1,000 places are taken) runs only when asked for: the flood section measures sign-in
  // under load with the default limits.
  const tableKeys = new Set<TableKey>(TABLE_KEYS.filter((key) => only.has(key) || (all && key !== 'signin')));
  if (tableKeys.size > 0) tableKeys.add('bare');
  const runBodies = all || only.has('bodies');
  const runEchoes = all || only.has('ws');
  if (tableKeys.size === 0 && !runBodies && !runEchoes) return;

  console.log(
    `gatehouse bench: ${PIN ? `wrk alone on core ${OTHER_CORE} (WebSocket and sign-in load: this process, on core ${OTHER_CORE}); every proxy and upstream on core ${PROXY_CORE}` : 'not pinned to cores (BENCH_PIN=0, or fewer than 2 cores, or no taskset)'}; ${ROUNDS} rounds of ${SECONDS}s per row (medians), after a ${WARMUP_SECONDS}s warm-up`,
  );
  const staticUpstream = await startStaticUpstream(await freePort(), BIG_BODY_BYTES);
  const nodeUpstream = await startPortPrinter('./upstream-server.ts', [], { core: PROXY_CORE });
  const nodeUpstreamPid = nodeUpstream.child.pid!;
  const bare = await startPortPrinter('./bare-proxy.ts', [String(staticUpstream.port), `/ws=${nodeUpstream.port}`, `/upload=${nodeUpstream.port}`], { core: PROXY_CORE });
  const barePid = bare.child.pid!;
  const routes = benchRoutes(staticUpstream.port, nodeUpstream.port);
  const gateway = (store: string, launch: 'installed' | 'node-dist' = 'installed') => startGateway(staticUpstream.port, smtp.port, store, { launch, routes });
  // The installed command (bin/gatehouse.js through its #! line) for every row, and the same
  // gateway started as `node dist/run-cli.js serve` (systemd, PM2, Kubernetes) for its own
  // rows: both must be equally fast (src/heap-relaunch.ts).
  const memoryGw = await gateway('memory');
  const memoryCookie = await signIn(memoryGw.port, smtp, 'bench@example.com');
  const needDist = tableKeys.has('memory-dist') || runBodies;
  const memoryDistGw = needDist ? await gateway('memory', 'node-dist') : undefined;
  const memoryDistCookie = memoryDistGw ? await signIn(memoryDistGw.port, smtp, 'bench@example.com') : '';
  const signedIn = (cookie: string) => ({ host: 'app.test', cookie });

  if (tableKeys.size > 0) {
    const staticServers = (proxyPid: number): Servers => ({ proxyPid, upstreamPids: staticUpstream.pids });
    const wrkRow = (key: TableKey, name: string, proxyPid: number, row: WrkRow): TableRow => ({
      key,
      name,
      servers: staticServers(proxyPid),
      measure: (warmupSeconds) => sampleRequestsWithWrk(row, staticServers(proxyPid), SECONDS, warmupSeconds),
    });
    const url = (gw: { port: number }, path: string) => `http://127.0.0.1:${gw.port}${path}`;
    const rows: TableRow[] = [wrkRow('bare', 'bare http-proxy (yardstick)', barePid, { url: url(bare, '/page'), connections: CONNECTIONS })];
    if (tableKeys.has('memory')) rows.push(wrkRow('memory', 'gateway, signed in, memory store', memoryGw.pid, { url: url(memoryGw, '/page'), headers: signedIn(memoryCookie), connections: CONNECTIONS }));
    if (memoryDistGw && tableKeys.has('memory-dist')) {
      rows.push(wrkRow('memory-dist', 'same, started as node dist/run-cli.js', memoryDistGw.pid, { url: url(memoryDistGw, '/page'), headers: signedIn(memoryDistCookie), connections: CONNECTIONS }));
    }
    let redisGw: GatewayProcess | undefined;
    if (tableKeys.has('redis')) {
      redisGw = await gateway(`\n    redis:\n      url: ${REDIS_URL}\n      prefix: "gatehouse-bench-${process.pid}:"`);
      const redisCookie = await signIn(redisGw.port, smtp, 'bench@example.com');
      rows.push(wrkRow('redis', 'gateway, signed in, Redis store', redisGw.pid, { url: url(redisGw, '/page'), headers: signedIn(redisCookie), connections: CONNECTIONS }));
    }
    if (tableKeys.has('public')) rows.push(wrkRow('public', 'gateway, public path', memoryGw.pid, { url: url(memoryGw, '/public/page'), headers: { host: 'app.test' }, connections: CONNECTIONS }));
    if (tableKeys.has('redirect')) {
      rows.push(wrkRow('redirect', 'gateway, unauthenticated redirect (302)', memoryGw.pid, { url: url(memoryGw, '/page'), headers: { host: 'app.test', accept: 'text/html' }, connections: CONNECTIONS, expectNon2xx: true }));
    }
    let signInGw: GatewayProcess | undefined;
    if (tableKeys.has('signin')) {
      // Sign-in load fills its gateway's store with pending codes: it gets a gateway of its own.
      signInGw = await gateway('memory');
      const page = await send(signInGw.port, { path: '/.gatehouse/login', headers: { host: 'app.test', accept: 'text/html' } });
      const csrfCookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
      let signInCounter = 0;
      // The mail goes to the SMTP sink in this process: no upstream.
      const servers: Servers = { proxyPid: signInGw.pid, upstreamPids: () => [] };
      const options = {
        url: url(signInGw, '/.gatehouse/login'),
        connections: CONNECTIONS,
        headers: { host: 'app.test', 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
        requests: [
          {
            method: 'POST' as const,
            // A fresh address per request, so the per-address limits never apply.
            setupRequest: (req: object) => ({ ...req, body: `email=bench-${(signInCounter += 1)}%40example.com&csrf=${encodeURIComponent(csrf)}&rd=%2F` }),
          },
        ],
      };
      rows.push({ key: 'signin', name: 'sign-in: code requests (mail to SMTP sink; autocannon)', servers, measure: (warmupSeconds) => sampleRequestsWithAutocannon(options, servers, SECONDS, warmupSeconds) });
    }
    // Sign-in load leaves mail to send for a while after it stops, so it runs after the rest
    // instead of taking CPU from their rounds.
    const getRows = rows.filter((row) => row.key !== 'signin');
    const lastRows = rows.filter((row) => row.key === 'signin');
    const medians = [
      ...(await interleavedMedians(getRows, (row, round) => row.measure(round === 0 ? WARMUP_SECONDS : 0))),
      ...(await interleavedMedians(lastRows, (row, round) => row.measure(round === 0 ? WARMUP_SECONDS : 0))),
    ];
    if (signInGw) await stopChild(signInGw.child);
    console.log(`\n1 KiB answers (nginx, static files), wrk ${CONNECTIONS} connections:\n\n${formatProxyTable([...getRows, ...lastRows].map((row, i) => ({ row, sample: medians[i]! })))}\n`);
    if (redisGw) console.log(`The Redis row's redis-server (${REDIS_URL}) is the machine's own, not started or pinned by the bench: its CPU is in no column here.`);
    if (redisGw) console.log(`gateway peak RSS: memory ${peakRssMb(memoryGw.pid)} MB, Redis ${peakRssMb(redisGw.pid)} MB`);
  }

  if (runBodies) {
    const targets: BodyTarget[] = [
      { name: 'bare http-proxy', port: bare.port, headers: {}, proxyPid: barePid },
      { name: 'gateway (installed command)', port: memoryGw.port, headers: signedIn(memoryCookie), proxyPid: memoryGw.pid },
      { name: 'gateway (node dist/run-cli.js)', port: memoryDistGw!.port, headers: signedIn(memoryDistCookie), proxyPid: memoryDistGw!.pid },
    ];
    const rows: Array<{ name: string; bare: BodySample; sample: BodySample }> = [];
    for (const direction of ['download', 'upload'] as const) {
      const upstreamPids = direction === 'download' ? staticUpstream.pids : () => [nodeUpstreamPid];
      const medians = await interleavedMedians(targets, (target, round) =>
        sampleBodies(
          { port: target.port, headers: target.headers, connections: BIG_BODY_CONNECTIONS, bodyBytes: BIG_BODY_BYTES, direction, sinkPort: nodeUpstream.port },
          { proxyPid: target.proxyPid, upstreamPids },
          SECONDS,
          round === 0 ? Math.min(WARMUP_SECONDS, 1) : 0,
        ),
      );
      targets.forEach((target, i) => rows.push({ name: `${direction}s, ${target.name}`, bare: medians[0]!, sample: medians[i]! }));
    }
    console.log(
      `\nbig bodies: ${BIG_BODY_CONNECTIONS} parallel ${BIG_BODY_BYTES / 1048576} MiB bodies from wrk; downloads a static file from nginx, uploads POSTed to a Node sink (on core ${PROXY_CORE}) that answers once it has read the body:\n\n${formatBodiesTable(rows)}\n`,
    );
  }

  if (runEchoes) {
    const targets = [
      { name: 'bare http-proxy', port: bare.port, headers: {}, proxyPid: barePid },
      { name: 'gateway, signed in, memory store', port: memoryGw.port, headers: signedIn(memoryCookie), proxyPid: memoryGw.pid },
    ];
    const echoRow = (target: (typeof targets)[number]) => ({ port: target.port, headers: target.headers, connections: CONNECTIONS, inFlight: WS_IN_FLIGHT, messageBytes: WS_MESSAGE_BYTES });
    const medians = await interleavedMedians(targets, async (target, round) => {
      const servers = { proxyPid: target.proxyPid, upstreamPids: () => [nodeUpstreamPid] };
      if (round === 0 && WARMUP_SECONDS > 0) await sampleEchoes(echoRow(target), servers, WARMUP_SECONDS);
      return sampleEchoes(echoRow(target), servers, SECONDS);
    });
    console.log(
      `\nWebSocket echo: ${WS_MESSAGE_BYTES} B messages, ${CONNECTIONS} connections with ${WS_IN_FLIGHT} in flight each, from this process (core ${OTHER_CORE}) to a Node ws echo (core ${PROXY_CORE}):\n\n${formatEchoTable(targets.map((target, i) => ({ name: target.name, sample: medians[i]! })))}\n`,
    );
  }
  await staticUpstream.stop();
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
        // Batches of 1,000: each command has a 1 s timeout, and 5,000 at once missed it
        // when other work on this machine slowed Redis or this process down.
        const end = Math.min(target, stored + 1000);
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

async function main(): Promise<void> {
  if (PIN) spawnSync('taskset', ['-p', '-c', OTHER_CORE, String(process.pid)], { stdio: 'ignore' });
  // BENCH_ONLY=memory,redis picks rows of the proxy table, BENCH_ONLY=bodies,ws,stores or
  // forward-auth whole sections (forward-auth alone: under a minute with BENCH_SECONDS=3 BENCH_ROUNDS=1).
  const only = new Set((process.env.BENCH_ONLY ?? '').split(',').filter(Boolean));
  const unknown = [...only].filter((key) => !(TABLE_KEYS as readonly string[]).includes(key) && !(SECTION_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')} (known: ${[...TABLE_KEYS, ...SECTION_KEYS].join(', ')})`);
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  await proxySections(smtp, only);
  if (only.size === 0 || only.has('stores')) {
    console.log(await memoryStoreScale());
    console.log(await redisLookupScale());
  }
  if (only.size === 0 || only.has('flood')) {
    // Sign-in under a flood with the default limits (bench/flood.ts): its own gateways.
    console.log(`\n${await floodSection({ seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, smtp })}\n`);
  }
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
