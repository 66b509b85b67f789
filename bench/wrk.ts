/**
 * A small runner for `wrk` (Debian's wrk 4.1): one load run as its own process, pinned to the
 * load core when pinning is on, so the load generator never shares a core with the servers
 * it measures. Its text output is parsed (Requests/sec, the `--latency` distribution, socket
 * errors) and a small Lua script counts every answer that is not 2xx: wrk itself counts only
 * statuses above 399 ("Non-2xx or 3xx responses"), so a 302 to the sign-in page, the answer
 * to a cookie that stopped working, would otherwise pass as a success. The same script can
 * make every request a POST with a body of a given size (the upload rows).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OTHER_CORE, PIN } from './harness.js';

export interface WrkOptions {
  readonly url: string;
  /** Sent with every request, e.g. `{ host: 'app.test', cookie: 'gatehouse=…' }`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly seconds: number;
  /** wrk threads; one by default, as wrk gets one core of its own. */
  readonly threads?: number;
  /** How long an answer may take before wrk counts a timeout (wrk's default: 2 s). */
  readonly timeoutSeconds?: number;
  /** Makes every request a POST with this many bytes of body (application/octet-stream). */
  readonly postBodyBytes?: number;
  /**
   * False for big answers: no Lua `response()`, so wrk does not copy every body into a Lua
   * string (a 10 MiB download then ran at a sixth of the speed, and wrk, not the proxy, was
   * what the bodies rows measured). Only statuses above 399 are counted then (wrk's own
   * "Non-2xx or 3xx" line); the caller checks the bytes read instead.
   */
  readonly countEveryStatus?: boolean;
}

export interface WrkResult {
  /** Responses received (wrk's "N requests in"). */
  readonly requests: number;
  /** How long wrk ran, by its own clock (the "in 3.00s"), seconds. */
  readonly seconds: number;
  /** Bytes wrk read, headers and bodies (the ", 1.21GB read", rounded to two decimals). */
  readonly bytesRead: number;
  readonly requestsPerSecond: number;
  /** Latency percentiles in milliseconds. */
  readonly p50: number;
  readonly p99: number;
  /** Responses whose status was not 2xx (the Lua count), or above 399 without it (`countEveryStatus: false`). */
  readonly non2xx: number;
  /** connect + read + write + timeout errors. */
  readonly socketErrors: number;
  /** wrk's own CPU time (user + system), µs. */
  readonly cpuMicros: number;
}

// Every thread counts in its own Lua state; `done` adds them up and prints one line.
const COUNT_NON_2XX = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non2xx = 0 end
function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("non2xx") end
  io.write(string.format("gatehouse-bench non-2xx: %d\\n", total))
end
`;

// Without response(): wrk's own count of statuses above 399 stands in for the Lua count.
const COUNT_ERRORS = `
function done(summary, latency, requests)
  io.write(string.format("gatehouse-bench non-2xx: %d\\n", summary.errors.status))
end
`;

/** The upload rows' lines, put before the counting script: wrk formats its request from these once per thread. */
function postBodyLua(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new Error(`not a body size: ${bytes}`);
  return `wrk.method = "POST"\nwrk.body = string.rep("u", ${bytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`;
}

const CLOCK_TICK_US = 1_000_000 / 100; // Linux USER_HZ

/** User + system time of this process's reaped children (wrk, once it has exited), µs. */
function reapedChildrenCpuMicros(): number {
  const fields = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_US;
}

/** `1.23ms`, `850.00us`, `2.01s`, `1.00m` → milliseconds. */
export function wrkDurationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`not a wrk duration: ${text}`);
  const value = Number(match[1]);
  return { us: value / 1000, ms: value, s: value * 1000, m: value * 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
}

/** `1.5k` → 1500: wrk abbreviates counts in its summary line. */
function wrkCount(text: string): number {
  const match = /^([\d.]+)([kMG]?)$/.exec(text);
  if (!match) throw new Error(`not a wrk count: ${text}`);
  return Number(match[1]) * { '': 1, k: 1e3, M: 1e6, G: 1e9 }[match[2] as '' | 'k' | 'M' | 'G'];
}

/** `1.21GB`, `512.00B`, `3.50KB` → bytes: wrk's binary units (1024). */
export function wrkBytes(text: string): number {
  const match = /^([\d.]+)([KMGTP]?)B$/.exec(text.trim());
  if (!match) throw new Error(`not a wrk byte count: ${text}`);
  return Number(match[1]) * 1024 ** ['', 'K', 'M', 'G', 'T', 'P'].indexOf(match[2]!);
}

/** Reads wrk's report (with `--latency` and the non-2xx script's line). */
export function parseWrkOutput(output: string): Omit<WrkResult, 'cpuMicros'> {
  const need = (pattern: RegExp, what: string): RegExpExecArray => {
    const match = pattern.exec(output);
    if (!match) throw new Error(`wrk output without ${what}:\n${output}`);
    return match;
  };
  // wrk pads one-letter units ("2.01s ") with a trailing space.
  const percentile = (p: number) => wrkDurationMs(need(new RegExp(`^\\s+${p}%\\s+(\\S+)\\s*$`, 'm'), `the ${p}% latency`)[1]!);
  const summary = need(/^\s+(\S+) requests in (\S+), (\S+) read\s*$/m, 'the summary line');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requests: wrkCount(summary[1]!),
    seconds: wrkDurationMs(summary[2]!) / 1000,
    bytesRead: wrkBytes(summary[3]!),
    requestsPerSecond: Number(need(/^Requests\/sec:\s+([\d.]+)/m, 'Requests/sec')[1]),
    p50: percentile(50),
    p99: percentile(99),
    non2xx: Number(need(/^gatehouse-bench non-2xx: (\d+)$/m, 'the non-2xx count')[1]),
    socketErrors: socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
  };
}

/**
 * `host` → `Host`. wrk adds its own `Host` (from the URL) unless the table of headers has
 * one under exactly that spelling: a lowercase `host` would go out twice, and a gateway
 * rightly answers a repeated Host with 400.
 */
function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Runs wrk once for `seconds`; it is stopped by its pid if it runs 15 s over. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-wrk-'));
  const script = join(dir, 'count-non-2xx.lua');
  writeFileSync(script, (options.postBodyBytes === undefined ? '' : postBodyLua(options.postBodyBytes)) + (options.countEveryStatus === false ? COUNT_ERRORS : COUNT_NON_2XX));
  const args = [
    '--threads', String(options.threads ?? 1),
    '--connections', String(options.connections),
    '--duration', `${options.seconds}s`,
    '--latency',
    ...(options.timeoutSeconds === undefined ? [] : ['--timeout', `${options.timeoutSeconds}s`]),
    '--script', script,
    ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => ['--header', `${canonicalHeaderName(name)}: ${value}`]),
    options.url,
  ];
  // taskset execs wrk: the pid is wrk's, and so is the CPU time reaped from it.
  const command = PIN ? ['taskset', '-c', OTHER_CORE, 'wrk', ...args] : ['wrk', ...args];
  const cpuBefore = reapedChildrenCpuMicros();
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const overrun = setTimeout(() => child.kill('SIGKILL'), (options.seconds + (options.timeoutSeconds ?? 0) + 15) * 1000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
  } finally {
    clearTimeout(overrun);
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...parseWrkOutput(output), cpuMicros: reapedChildrenCpuMicros() - cpuBefore };
}
