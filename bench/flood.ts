/**
 * Sign-in under a flood (issue 14, point 4): a gateway as users start it (the installed
 * command, memory store, the default `otp` limits, mail over SMTP to a local sink) is flooded
 * with code requests for made-up addresses while a signed-in guest's requests are measured
 * next to it. Two floods, each against a gateway of its own (peak RSS only ever grows):
 *
 *   - one client: every request from the same address (192.0.2.1, behind the front proxy),
 *     as a single attacker machine;
 *   - many clients: a fresh client address per request, as a botnet behind the gateway's
 *     trusted front proxy (`X-Forwarded-For`), so no per-client limit ever applies.
 *
 * Both the flood and the signed-in load are wrk processes on the load core (with this process
 * and its SMTP sink); the gateway and the upstream app share the other core. The flood is wrk with a Lua script that makes each request's
 * address (and client) from a counter, so the generator costs next to nothing per request.
 * Reported per flood: requests offered and answered by status, mails delivered to the sink
 * and dropped by the gateway, the gateway's peak RSS, the signed-in throughput alone and
 * beside the flood (rounds of one then the other, medians), and whether a guest could still sign in (a code mailed and accepted)
 * once the flood stopped.
 *
 * Run alone: `npm run build && node --import tsx bench/flood.ts` (BENCH_SECONDS, default 10,
 * BENCH_CONNECTIONS, default 50, and BENCH_ROUNDS, default 3). In `npm run bench`: `await floodSection({ seconds,
 * connections, smtp })` and print the string it returns.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestSmtpServer, type TestSmtpServer } from '../test/helpers/mail.js';
import {
  OTHER_CORE,
  PIN,
  PROXY_CORE,
  cpuMicros,
  formatMarkdownTable,
  median,
  onStop,
  peakRssMb,
  send,
  signIn,
  startGateway,
  startPortPrinter,
  stopChild,
  stopEverything,
  type GatewayProcess,
} from './harness.js';
import { runWrk, type WrkResult } from './wrk.js';

export interface FloodSettings {
  /** Length of each measured run (quiet, and beside the flood). */
  readonly seconds: number;
  /** Connections of the signed-in load. */
  readonly connections: number;
  /** Connections of the flood; default 50. */
  readonly floodConnections?: number;
  /** Rounds of (alone, beside the flood) per row; default 3. */
  readonly rounds?: number;
  readonly smtp: TestSmtpServer;
}

type FloodKind = 'one client' | 'many clients';

interface FloodCounts {
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly socketErrors: number;
  /** The other statuses seen (not 303, 429 or 503), each once. */
  readonly otherStatuses: readonly string[];
}

interface FloodRow {
  readonly kind: FloodKind;
  /** How long the flood ran, all rounds together. */
  readonly floodSeconds: number;
  /** All rounds' flood answers added up. */
  readonly flood: FloodCounts;
  readonly mailsDelivered: number;
  readonly mailsDropped: number;
  readonly rssMb: number;
  /** Signed-in req/s alone and beside the flood (medians over the rounds), and each round's beside/alone. */
  readonly quietRps: number;
  readonly besideRps: number;
  readonly ratios: readonly number[];
  /** Gateway CPU per signed-in request (quiet, median), and per flood request (the flood alone, its mail included), µs. */
  readonly signedInCpuUs: number;
  readonly floodCpuUs: number;
  readonly signInAfter: string;
}

/**
 * A gateway with the default limits (harness.startGateway lifts the `otp` limits unless told
 * not to) that trusts the loopback front proxy, so the flood can name its clients in
 * X-Forwarded-For.
 */
function startGatewayWithDefaultLimits(upstreamPort: number, smtpPort: number): Promise<GatewayProcess> {
  return startGateway(upstreamPort, smtpPort, 'memory', { otpLimits: 'default', extraConfig: 'trust_proxy: ["127.0.0.1/32"]' });
}

// One Lua state per wrk thread; each makes its own addresses (flood-<run>-<thread>-<n>@example.com,
// so a later run of the flood asks for new ones) and, for "many", its own clients
// (10.<run*8+thread>.x.y, a fresh one per request). "one" is
// 192.0.2.1 throughout, so the guests' own client (127.0.0.1) keeps its limits.
const FLOOD_SCRIPT = `
local threads = {}
local nextId = 0
function setup(thread)
  thread:set("id", nextId)
  nextId = nextId + 1
  table.insert(threads, thread)
end
function init(args)
  csrf = args[1]
  cookie = args[2]
  many = args[3] == "many"
  run = tonumber(args[4])
  counter = 0
  s303, s429, s503, sother = 0, 0, 0, 0
  otherStatuses = ""
end
function request()
  counter = counter + 1
  local headers = {
    ["Host"] = "app.test",
    ["Accept"] = "text/html",
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }
  if many then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", (run * 8 + id) % 256, math.floor(counter / 256) % 256, counter % 256)
  else
    headers["X-Forwarded-For"] = "192.0.2.1"
  end
  local body = "email=flood-" .. run .. "-" .. id .. "-" .. counter .. "%40example.com&csrf=" .. csrf .. "&rd=%2F"
  return wrk.format("POST", "/.gatehouse/login", headers, body)
end
function response(status, headers, body)
  if status == 303 then s303 = s303 + 1
  elseif status == 429 then s429 = s429 + 1
  elseif status == 503 then s503 = s503 + 1
  else
    sother = sother + 1
    if not string.find(otherStatuses, " " .. status .. " ", 1, true) then otherStatuses = otherStatuses .. " " .. status .. " " end
  end
end
function done(summary, latency, requests)
  local t = { s303 = 0, s429 = 0, s503 = 0, sother = 0 }
  local statuses = ""
  for _, thread in ipairs(threads) do
    for name, _ in pairs(t) do t[name] = t[name] + thread:get(name) end
    statuses = statuses .. thread:get("otherStatuses")
  end
  io.write(string.format("gatehouse-flood 303=%d 429=%d 503=%d other=%d statuses=%s;\\n", t.s303, t.s429, t.s503, t.sother, statuses))
end
`;

/** Runs the flood wrk for `seconds` (`run` numbers its addresses); stopped by its pid if it runs 15 s over. */
async function runFlood(port: number, kind: FloodKind, run: number, seconds: number, connections: number, csrf: string, cookie: string): Promise<FloodCounts> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-flood-wrk-'));
  const script = join(dir, 'flood.lua');
  writeFileSync(script, FLOOD_SCRIPT);
  const args = ['--threads', '1', '--connections', String(connections), '--duration', `${seconds}s`, '--script', script, `http://127.0.0.1:${port}/.gatehouse/login`, '--', csrf, cookie, kind === 'many clients' ? 'many' : 'one', String(run)];
  const command = PIN ? ['taskset', '-c', OTHER_CORE, 'wrk', ...args] : ['wrk', ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const overrun = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`flood wrk exited with ${code}:\n${output}`);
  } finally {
    clearTimeout(overrun);
    rmSync(dir, { recursive: true, force: true });
  }
  const counts = /gatehouse-flood 303=(\d+) 429=(\d+) 503=(\d+) other=(\d+) statuses=([^;]*);/.exec(output);
  const total = /^\s+(\d+) requests in /m.exec(output);
  if (!counts || !total) throw new Error(`flood wrk output without its counts:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: Number(total[1]),
    byStatus: { '303': Number(counts[1]), '429': Number(counts[2]), '503': Number(counts[3]), other: Number(counts[4]) },
    socketErrors: socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    otherStatuses: counts[5]!.trim().split(/\s+/).filter(Boolean),
  };
}

/** The login page's CSRF cookie and token, which every flood request reuses. */
async function csrfOf(port: number): Promise<{ cookie: string; token: string }> {
  const page = await send(port, { path: '/.gatehouse/login', headers: { host: 'app.test', accept: 'text/html' } });
  const cookie = (page.headers['set-cookie'] ?? []).map((line) => line.split(';')[0]).join('; ');
  const token = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!token) throw new Error(`no CSRF token on the login page (${page.status})`);
  return { cookie, token };
}

/** Counts log lines of one audit event in the gateway's log. */
function countEvents(logFile: string, event: string): number {
  const needle = `"event":"${event}"`;
  let count = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) if (line.includes(needle)) count += 1;
  return count;
}

/** Mails that arrive at the sink from now on are counted and let go (the sink would keep each one). */
function countArrivals(smtp: TestSmtpServer): { count: () => number; stop: () => number } {
  const start = smtp.received.length;
  let counted = 0;
  const drain = () => {
    counted += smtp.received.length - start;
    smtp.received.splice(start);
  };
  const timer = setInterval(drain, 200);
  return {
    count: () => counted + smtp.received.length - start,
    stop() {
      clearInterval(timer);
      drain();
      return counted;
    },
  };
}

/** Waits until no mail has arrived for a second (the outbox is empty), at most 60 s; seconds waited. */
async function outboxQuiet(arrivals: { count: () => number }): Promise<number> {
  const started = Date.now();
  let previous = -1;
  while (Date.now() < started + 60_000) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = arrivals.count();
    if (now === previous) break;
    previous = now;
  }
  return (Date.now() - started) / 1000;
}

/** "0", or the count with what it was: "5 (socket errors 5)", "2 (statuses 500)". */
function otherCell(counts: FloodCounts): string {
  const other = counts.byStatus.other ?? 0;
  const parts = [other > 0 ? `statuses ${counts.otherStatuses.join(' ')}` : '', counts.socketErrors > 0 ? `socket errors ${counts.socketErrors}` : ''].filter(Boolean);
  return parts.length === 0 ? '0' : `${other + counts.socketErrors} (${parts.join(', ')})`;
}

function sumCounts(rounds: readonly FloodCounts[]): FloodCounts {
  const byStatus: Record<string, number> = {};
  for (const round of rounds) for (const [status, count] of Object.entries(round.byStatus)) byStatus[status] = (byStatus[status] ?? 0) + count;
  return {
    requests: rounds.reduce((sum, round) => sum + round.requests, 0),
    byStatus,
    socketErrors: rounds.reduce((sum, round) => sum + round.socketErrors, 0),
    otherStatuses: [...new Set(rounds.flatMap((round) => round.otherStatuses))],
  };
}

/**
 * One flood's row: the flood alone (its CPU per request), then `rounds` times the signed-in
 * load alone, then beside the flood, each time the outbox left to empty after the flood. This VM's speed drifts by a fifth from one run to the next, so one
 * quiet run against one run beside the flood measured the machine as much as the flood;
 * each round's ratio is taken against the quiet run just before it, and the row shows medians.
 */
async function floodRow(kind: FloodKind, upstreamPort: number, settings: FloodSettings): Promise<FloodRow> {
  const { smtp, seconds, connections } = settings;
  const rounds = settings.rounds ?? 3;
  const gateway = await startGatewayWithDefaultLimits(upstreamPort, smtp.port);
  try {
    const cookie = await signIn(gateway.port, smtp, 'bench@example.com');
    const signedIn = { url: `http://127.0.0.1:${gateway.port}/`, headers: { host: 'app.test', cookie }, connections };
    await runWrk({ ...signedIn, seconds: 2 }); // warm-up, unmeasured
    const csrf = await csrfOf(gateway.port);
    const arrivals = countArrivals(smtp);
    const floodConnections = settings.floodConnections ?? 50;
    const flood = (run: number, floodSeconds: number) =>
      runFlood(gateway.port, kind, run, floodSeconds, floodConnections, encodeURIComponent(csrf.token), csrf.cookie);

    // The flood alone first, for what a flood request costs the gateway (its mail included).
    const aloneCpuBefore = cpuMicros(gateway.pid);
    const alone = await flood(0, seconds);
    await outboxQuiet(arrivals);
    const floodCpuUs = (cpuMicros(gateway.pid) - aloneCpuBefore) / Math.max(1, alone.requests);

    const measured: Array<{ quiet: WrkResult; beside: WrkResult; signedInCpuUs: number; flood: FloodCounts }> = [];
    let rssMb = peakRssMb(gateway.pid);
    let drainedSeconds = 0;
    for (let round = 1; round <= rounds; round += 1) {
      const quietCpuBefore = cpuMicros(gateway.pid);
      const quiet = await runWrk({ ...signedIn, seconds });
      const signedInCpuUs = (cpuMicros(gateway.pid) - quietCpuBefore) / Math.max(1, quiet.requests);
      // The flood starts first and ends last, so the whole signed-in run is beside it.
      const flooding = flood(round, seconds + 2);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const beside = await runWrk({ ...signedIn, seconds });
      measured.push({ quiet, beside, signedInCpuUs, flood: await flooding });
      rssMb = Math.max(rssMb, peakRssMb(gateway.pid));
      // The next quiet run, and the sign-in below, start once the flood's mail is out.
      drainedSeconds = await outboxQuiet(arrivals);
    }

    // A guest on another client signs in: the code must still be mailed. signIn reads the
    // newest mail, so no flood mail may arrive meanwhile (the outbox is quiet by now).
    let signInAfter: string;
    const started = Date.now();
    try {
      await Promise.race([
        signIn(gateway.port, smtp, 'after-the-flood@example.com'),
        new Promise((_resolve, reject) => setTimeout(() => reject(new Error('no code within 30 s')), 30_000).unref()),
      ]);
      signInAfter = `ok in ${((Date.now() - started) / 1000).toFixed(1)} s (outbox quiet ${drainedSeconds.toFixed(0)} s after the flood)`;
    } catch (error) {
      signInAfter = `failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    const counts = sumCounts([alone, ...measured.map((round) => round.flood)]);
    return {
      kind,
      floodSeconds: seconds + rounds * (seconds + 2),
      flood: counts,
      mailsDelivered: arrivals.stop(),
      mailsDropped: countEvents(gateway.logFile, 'mail.failed'),
      rssMb: Math.max(rssMb, peakRssMb(gateway.pid)),
      quietRps: median(measured.map((round) => round.quiet.requestsPerSecond)),
      besideRps: median(measured.map((round) => round.beside.requestsPerSecond)),
      ratios: measured.map((round) => round.beside.requestsPerSecond / round.quiet.requestsPerSecond),
      signedInCpuUs: median(measured.map((round) => round.signedInCpuUs)),
      floodCpuUs,
      signInAfter,
    };
  } finally {
    await stopChild(gateway.child);
  }
}

/** Runs both floods and returns their table, with a line on how it was measured. */
export async function floodSection(settings: FloodSettings): Promise<string> {
  // The servers share the gateway's core, as in the proxy table (bench/harness.ts).
  const upstream = await startPortPrinter('./upstream-server.ts', [], { core: PROXY_CORE });
  try {
    const rows: FloodRow[] = [];
    for (const kind of ['one client', 'many clients'] as const) rows.push(await floodRow(kind, upstream.port, settings));
    const header = ['flood', 'offered req/s', '303', '429', '503', 'other', 'mails delivered', 'mails dropped', 'peak RSS MB', 'CPU µs/flood req', 'CPU µs/signed-in req', 'signed-in req/s alone', 'beside flood', 'ratio (median; each round)', 'sign-in after'];
    const lines = rows.map((row) => [
      row.kind,
      String(Math.round(row.flood.requests / row.floodSeconds)),
      String(row.flood.byStatus['303'] ?? 0),
      String(row.flood.byStatus['429'] ?? 0),
      String(row.flood.byStatus['503'] ?? 0),
      otherCell(row.flood),
      String(row.mailsDelivered),
      String(row.mailsDropped),
      String(row.rssMb),
      String(Math.round(row.floodCpuUs)),
      String(Math.round(row.signedInCpuUs)),
      String(Math.round(row.quietRps)),
      String(Math.round(row.besideRps)),
      `${median(row.ratios).toFixed(2)}; ${row.ratios.map((ratio) => ratio.toFixed(2)).join(', ')}`,
      row.signInAfter,
    ]);
    return [
      `sign-in under a flood: default limits, memory store, mail to the SMTP sink; flood: wrk, ${settings.floodConnections ?? 50} connections, a made-up address per request; ` +
        `signed-in load: wrk, ${settings.connections} connections, ${settings.rounds ?? 3} rounds of ${settings.seconds}s alone then ${settings.seconds}s beside the flood${PIN ? `; gateway and upstream on core ${PROXY_CORE}, wrk and the SMTP sink on core ${OTHER_CORE}` : ''}`,
      '',
      formatMarkdownTable(header, lines),
    ].join('\n');
  } finally {
    await stopChild(upstream.child);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const run = async () => {
    // As bench/run.ts does: this process (the sink) stays off the gateway's core.
    if (PIN) spawnSync('taskset', ['-p', '-c', OTHER_CORE, String(process.pid)], { stdio: 'ignore' });
    const smtp = await startTestSmtpServer();
    onStop(() => smtp.close());
    console.log(
      await floodSection({
        seconds: Number(process.env.BENCH_SECONDS ?? 10),
        connections: Number(process.env.BENCH_CONNECTIONS ?? 50),
        rounds: Number(process.env.BENCH_ROUNDS ?? 3),
        smtp,
      }),
    );
  };
  run()
    .then(stopEverything, async (error: unknown) => {
      console.error(error);
      await stopEverything();
      process.exitCode = 1;
    })
    .finally(() => setTimeout(() => process.exit(), 3000).unref());
}
