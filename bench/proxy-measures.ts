/**
 * One measured sample of the proxy rows, each read the same way: the CPU time of the proxy
 * under test and of the upstream behind it from /proc (µs per request, message or MiB), the
 * busy share of the server processes and of the load generator (a share of one core each:
 * near 100% on the servers' side and well under it on the load side means the servers were
 * the bottleneck), and each core's busy share from /proc/stat, every process counted, so
 * that anything else running on the machine during the sample shows too.
 */
import { hrtime } from 'node:process';
import http from 'node:http';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { readFileSync, readdirSync } from 'node:fs';
import { OTHER_CORE, PROXY_CORE, childPids, coreBusyMicros, cpuMicros, median, peakRssMb, resetPeakRss } from './harness.js';
import { runWrk } from './wrk.js';

/** What every sample reports on where the time went; shares are of one core (1 = 100%). */
export interface Busy {
  /** The proxy and the upstream, by their own CPU time. */
  readonly serversBusy: number;
  /** The load generator (wrk, or this process for the WebSocket and sign-in rows). */
  readonly loadBusy: number;
  /** Core 1 and core 0 as a whole (/proc/stat), every process on the machine. */
  readonly serverCoreBusy: number;
  readonly loadCoreBusy: number;
  /** Processes outside the bench that used more than a tenth of a core during the sample, e.g. `node 1234 70%`. */
  readonly others: string;
}

export interface RequestSample extends Busy {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly proxyCpuUsPerRequest: number;
  readonly upstreamCpuUsPerRequest: number;
  readonly rssMb: number;
  readonly errors: number;
}

export interface BodySample extends Busy {
  readonly mibPerSecond: number;
  readonly proxyCpuUsPerMiB: number;
  readonly upstreamCpuUsPerMiB: number;
  /** The proxy's peak RSS during this sample alone. */
  readonly rssMb: number;
  readonly errors: number;
}

export interface MessageSample extends Busy {
  readonly messagesPerSecond: number;
  readonly proxyCpuUsPerMessage: number;
  readonly upstreamCpuUsPerMessage: number;
  readonly errors: number;
}

/** The processes a row's requests pass through. */
export interface Servers {
  readonly proxyPid: number;
  /** Read at each sample: nginx's worker could be replaced. */
  readonly upstreamPids: () => readonly number[];
}

const CLOCK_TICK_US = 1_000_000 / 100; // Linux USER_HZ

/** CPU time (user + system, µs) of every process on the machine, with its name. */
function everyProcessCpuMicros(): Map<number, { name: string; micros: number }> {
  const table = new Map<number, { name: string; micros: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      table.set(Number(entry), { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), micros: (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US });
    } catch {
      // It exited between the listing and the read.
    }
  }
  return table;
}

/** This process and everything it started, however deep. */
function benchProcesses(): Set<number> {
  const found = new Set<number>([process.pid]);
  const queue = [process.pid];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    try {
      for (const child of childPids(pid)) {
        if (found.has(child)) continue;
        found.add(child);
        queue.push(child);
      }
    } catch {
      // It exited meanwhile.
    }
  }
  return found;
}

/** The processes outside the bench that used more than a tenth of a core between the two tables. */
function otherWork(before: ReadonlyMap<number, { name: string; micros: number }>, wallMicros: number): string {
  const ours = benchProcesses();
  return [...everyProcessCpuMicros()]
    .filter(([pid]) => !ours.has(pid))
    .map(([pid, { name, micros }]) => ({ pid, name, share: (micros - (before.get(pid)?.micros ?? 0)) / wallMicros }))
    .filter(({ share }) => share > 0.1)
    .sort((a, b) => b.share - a.share)
    .slice(0, 3)
    .map(({ pid, name, share }) => `${name} ${pid} ${Math.round(share * 100)}%`)
    .join(', ');
}

/** Counters read before and after a sample; `finish` turns them into CPU times and busy shares. */
function startCounting(servers: Servers, loadCpuMicros: () => number) {
  const upstreamPids = servers.upstreamPids();
  const sumCpu = (pids: readonly number[]) => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const before = {
    proxy: cpuMicros(servers.proxyPid),
    upstream: sumCpu(upstreamPids),
    load: loadCpuMicros(),
    serverCore: coreBusyMicros(PROXY_CORE),
    loadCore: coreBusyMicros(OTHER_CORE),
    everyProcess: everyProcessCpuMicros(),
    started: hrtime.bigint(),
  };
  return {
    /** `loadMicros` overrides the load generator's CPU when it is only known afterwards (wrk's, once reaped). */
    finish(loadMicros?: number) {
      const wallMicros = Number(hrtime.bigint() - before.started) / 1000;
      const proxy = cpuMicros(servers.proxyPid) - before.proxy;
      const upstream = sumCpu(upstreamPids) - before.upstream;
      const busy: Busy = {
        serversBusy: (proxy + upstream) / wallMicros,
        loadBusy: (loadMicros ?? loadCpuMicros() - before.load) / wallMicros,
        serverCoreBusy: (coreBusyMicros(PROXY_CORE) - before.serverCore) / wallMicros,
        loadCoreBusy: (coreBusyMicros(OTHER_CORE) - before.loadCore) / wallMicros,
        others: otherWork(before.everyProcess, wallMicros),
      };
      return { proxy, upstream, busy, wallSeconds: wallMicros / 1e6 };
    },
  };
}

const thisProcessCpuMicros = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export interface WrkRow {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  /** The row expects answers other than 2xx (the redirect row); they are then no errors. */
  readonly expectNon2xx?: boolean;
}

/** GET requests from wrk, alone on the load core, for `seconds` (after an unmeasured warm-up of `warmupSeconds`). */
export async function sampleRequestsWithWrk(row: WrkRow, servers: Servers, seconds: number, warmupSeconds: number): Promise<RequestSample> {
  const load = { url: row.url, headers: row.headers, connections: row.connections };
  if (warmupSeconds > 0) await runWrk({ ...load, seconds: warmupSeconds });
  const counting = startCounting(servers, () => 0);
  const result = await runWrk({ ...load, seconds });
  const { proxy, upstream, busy } = counting.finish(result.cpuMicros);
  const perRequest = (micros: number) => (result.requests ? micros / result.requests : 0);
  return {
    rps: Math.round(result.requestsPerSecond),
    p50: result.p50,
    p99: result.p99,
    proxyCpuUsPerRequest: perRequest(proxy),
    upstreamCpuUsPerRequest: perRequest(upstream),
    rssMb: peakRssMb(servers.proxyPid),
    errors: result.socketErrors + (row.expectNon2xx ? 0 : result.non2xx) + (result.requests ? 0 : 1),
    ...busy,
  };
}

/**
 * Requests from autocannon in this process (the sign-in row: a fresh address per POST, which
 * wrk cannot make without a Lua request generator); everything non-2xx counts as an answer.
 */
export async function sampleRequestsWithAutocannon(options: autocannon.Options, servers: Servers, seconds: number, warmupSeconds: number): Promise<RequestSample> {
  if (warmupSeconds > 0) await autocannon({ ...options, duration: warmupSeconds });
  const counting = startCounting(servers, thisProcessCpuMicros);
  const result = await autocannon({ ...options, duration: seconds });
  const { proxy, upstream, busy } = counting.finish();
  const requests = result.requests.total;
  const perRequest = (micros: number) => (requests ? micros / requests : 0);
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    proxyCpuUsPerRequest: perRequest(proxy),
    upstreamCpuUsPerRequest: perRequest(upstream),
    rssMb: peakRssMb(servers.proxyPid),
    errors: result.errors + result.timeouts + (requests ? 0 : 1),
    ...busy,
  };
}

export interface BodyRow {
  readonly port: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly bodyBytes: number;
  /** `download`: GET /download (nginx, a static file); `upload`: POST /upload (the Node sink, which answers once it has read the body). */
  readonly direction: 'download' | 'upload';
  /** The upload sink's port, asked directly (not through the proxy) how many bytes it has read. */
  readonly sinkPort: number;
}

async function uploadedBytes(sinkPort: number): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: sinkPort, path: '/uploaded' }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  return (JSON.parse(text) as { bytes: number }).bytes;
}

/**
 * Big bodies from wrk (`connections` at once, one body each): MiB/s by wrk's own clock, from
 * the bytes wrk read (downloads) or the bytes the sink read (uploads, which wrk does not count).
 */
export async function sampleBodies(row: BodyRow, servers: Servers, seconds: number, warmupSeconds: number): Promise<BodySample> {
  const load = {
    url: `http://127.0.0.1:${row.port}/${row.direction}`,
    headers: row.headers,
    connections: row.connections,
    // A 10 MiB body takes a while on a busy core; wrk's 2 s default would count it as a timeout.
    timeoutSeconds: 10,
    ...(row.direction === 'upload' ? { postBodyBytes: row.bodyBytes } : { countEveryStatus: false }),
  };
  if (warmupSeconds > 0) await runWrk({ ...load, seconds: warmupSeconds });
  resetPeakRss(servers.proxyPid);
  const sinkBefore = await uploadedBytes(row.sinkPort);
  const counting = startCounting(servers, () => 0);
  const result = await runWrk({ ...load, seconds });
  const { proxy, upstream, busy } = counting.finish(result.cpuMicros);
  const bytes = row.direction === 'download' ? result.bytesRead : (await uploadedBytes(row.sinkPort)) - sinkBefore;
  // Each answered upload was read whole by the sink first; fewer bytes means bodies were cut.
  if (row.direction === 'upload' && bytes < result.requests * row.bodyBytes) {
    throw new Error(`the sink read ${bytes} bytes for ${result.requests} uploads of ${row.bodyBytes}`);
  }
  // Downloads are not counted by status (countEveryStatus: false): a redirect or a cut body
  // shows as fewer bytes than whole bodies. wrk rounds its byte count to three digits.
  if (row.direction === 'download' && bytes < result.requests * row.bodyBytes * 0.99) {
    throw new Error(`wrk read ${bytes} bytes for ${result.requests} downloads of ${row.bodyBytes}`);
  }
  const mib = bytes / 1048576;
  return {
    mibPerSecond: mib / result.seconds,
    proxyCpuUsPerMiB: mib ? proxy / mib : 0,
    upstreamCpuUsPerMiB: mib ? upstream / mib : 0,
    rssMb: peakRssMb(servers.proxyPid),
    errors: result.socketErrors + result.non2xx + (result.requests ? 0 : 1),
    ...busy,
  };
}

export interface EchoRow {
  readonly port: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  /** Messages each connection keeps in flight, so the load side spends less per message on waiting. */
  readonly inFlight: number;
  readonly messageBytes: number;
}

/** WebSocket echoes through the proxy to the upstream's echo, from this process (on the load core). */
export async function sampleEchoes(row: EchoRow, servers: Servers, seconds: number): Promise<MessageSample> {
  let errors = 0;
  const sockets = await Promise.all(
    Array.from({ length: row.connections }, () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${row.port}/ws`, { headers: { ...row.headers } });
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    })),
  );
  const payload = Buffer.alloc(row.messageBytes, 'm');
  let echoes = 0;
  let sending = true;
  for (const ws of sockets) {
    ws.on('error', () => (errors += 1));
    ws.on('close', () => {
      if (sending) errors += 1;
    });
    ws.on('message', () => {
      echoes += 1;
      if (sending) ws.send(payload);
    });
  }
  const counting = startCounting(servers, thisProcessCpuMicros);
  for (const ws of sockets) for (let i = 0; i < row.inFlight; i += 1) ws.send(payload);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const measured = echoes;
  const { proxy, upstream, busy, wallSeconds } = counting.finish();
  sending = false;
  for (const ws of sockets) ws.terminate();
  return {
    messagesPerSecond: Math.round(measured / wallSeconds),
    proxyCpuUsPerMessage: measured ? proxy / measured : 0,
    upstreamCpuUsPerMessage: measured ? upstream / measured : 0,
    errors: errors + (measured ? 0 : 1),
    ...busy,
  };
}

/** Each measure's median over the rounds; errors are added up, the peak RSS is the largest seen, and texts (`others`) are listed. */
export function medianSample<T extends object>(samples: readonly T[]): T {
  const result: Record<string, number | string> = {};
  for (const key of Object.keys(samples[0]!)) {
    const texts = samples.map((sample) => (sample as Record<string, unknown>)[key]).filter((value): value is string => typeof value === 'string');
    if (texts.length > 0) {
      result[key] = [...new Set(texts.filter(Boolean))].join('; ');
      continue;
    }
    const values = samples.map((sample) => (sample as Record<string, number>)[key]!);
    if (key === 'errors') result[key] = values.reduce((sum, value) => sum + value, 0);
    else if (key === 'rssMb') result[key] = Math.max(...values);
    else result[key] = median(values);
  }
  return result as T;
}

/**
 * Whether something besides the bench's own processes used more than a quarter of either
 * core during the sample (another build or test run on the machine): the row then measured
 * the machine, not the proxy. Some of the difference is the kernel's loopback work done
 * outside any process's time, which is why the bar is not lower.
 */
export function sharedWithOthers(busy: Busy): boolean {
  return busy.serverCoreBusy - busy.serversBusy > 0.25 || busy.loadCoreBusy - busy.loadBusy > 0.25;
}

/** The note under a table with † rows: what else ran, row by row. */
export function sharedWithOthersNote(rows: ReadonlyArray<{ readonly name: string; readonly busy: Busy }>): string {
  const marked = rows.filter(({ busy }) => sharedWithOthers(busy));
  if (marked.length === 0) return '';
  return [
    "† other processes used more than a quarter of core 1 or core 0 beside the bench's own during this row: its numbers are the machine's, not the proxy's; rerun on a quiet machine. Seen:",
    ...marked.map(({ name, busy }) => `  - ${name}: ${busy.others || 'nothing above a tenth of a core (kernel work, or processes that exited)'}`),
  ].join('\n');
}

/** `servers / load` and `core 1 / core 0` busy shares as percentages, the second marked † when the cores were shared with other work. */
export function formatBusy(busy: Busy): [string, string] {
  const percent = (share: number) => `${Math.round(share * 100)}%`;
  return [`${percent(busy.serversBusy)} / ${percent(busy.loadBusy)}`, `${percent(busy.serverCoreBusy)} / ${percent(busy.loadCoreBusy)}${sharedWithOthers(busy) ? ' †' : ''}`];
}
