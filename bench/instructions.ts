/**
 * `npm run bench:instructions`: machine instructions per proxied request, counted by
 * valgrind's callgrind. Unlike req/s and CPU time, an instruction count does not move with
 * what else the machine is doing, so a 2% change shows as 2% on a noisy shared VM.
 *
 * For the bare http-proxy hop and each gateway scenario: start the proxy under callgrind
 * with counting off, warm it up (JIT, pools, caches) with BENCH_WARMUP_REQUESTS requests,
 * count BENCH_REQUESTS requests, and print instructions per request and the ratio to the
 * bare hop. Load comes from autocannon with a fixed request count; everything is on
 * loopback and stopped at the end. Needs `valgrind` (Debian package `valgrind`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startTestSmtpServer } from '../test/helpers/mail.js';
import { onStop, signIn, startGateway, startPortPrinter, stopEverything, type ChildOptions } from './harness.js';

// The warm-up is long because V8 keeps optimising for a while: with 2,000 warm-up requests
// a third of the counted instructions were still the optimising compiler's.
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const WARMUP_REQUESTS = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

// BENCH_CALLGRIND_DIR keeps the profiles for `callgrind_annotate` instead of deleting them.
const outputDir = process.env.BENCH_CALLGRIND_DIR ?? mkdtempSync(join(tmpdir(), 'gatehouse-callgrind-'));
if (!process.env.BENCH_CALLGRIND_DIR) onStop(() => rmSync(outputDir, { recursive: true, force: true }));

function callgrind(name: string): ChildOptions {
  return {
    wrapper: ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${join(outputDir, `${name}.%p`)}`, '--log-file=/dev/null'],
  };
}

function control(pid: number, ...args: string[]): void {
  const result = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
}

/** The instruction total of the first dump of process `pid`. */
function dumpedInstructions(name: string, pid: number): number {
  const file = join(outputDir, `${name}.${pid}.1`);
  const deadline = Date.now() + 30_000;
  while (!existsSync(file) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
  const match = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no instruction total in ${file}`);
  return Number(match[1]);
}

interface Measured {
  readonly name: string;
  readonly instructionsPerRequest: number;
  readonly errors: number;
}

async function measure(name: string, key: string, pid: number, options: autocannon.Options): Promise<Measured> {
  const run = (amount: number) => autocannon({ connections: CONNECTIONS, amount, timeout: 60, ...options });
  await run(WARMUP_REQUESTS);
  control(pid, '--instr=on');
  const result = await run(REQUESTS);
  control(pid, '--dump');
  control(pid, '--instr=off');
  const answered = result.requests.total;
  return {
    name,
    instructionsPerRequest: Math.round(dumpedInstructions(key, pid) / answered),
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (Debian: apt-get install valgrind)');
  console.log(`gatehouse instruction counts: ${REQUESTS} requests counted after ${WARMUP_REQUESTS} warm-up requests, ${CONNECTIONS} connections, 1 KiB responses`);
  const upstream = await startPortPrinter('./upstream-server.ts');
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());

  // BENCH_ONLY=memory,public,redis picks scenarios; the bare hop is always measured.
  const only = new Set((process.env.BENCH_ONLY ?? 'memory,public,redis').split(',').filter(Boolean));
  const rows: Measured[] = [];
  const bare = await startPortPrinter('./bare-proxy.ts', [String(upstream.port)], callgrind('bare'));
  rows.push(await measure('bare http-proxy (yardstick)', 'bare', bare.child.pid!, { url: `http://127.0.0.1:${bare.port}/page` }));
  bare.child.kill('SIGTERM');

  const redisStore = `\n    redis:\n      url: ${REDIS_URL}\n      prefix: "gatehouse-bench-${process.pid}:"`;
  const gatewayScenarios = [
    { key: 'memory', name: 'gateway, signed in, memory store', store: 'memory', path: '/page', signedIn: true },
    { key: 'public', name: 'gateway, public path', store: 'memory', path: '/public/page', signedIn: false },
    { key: 'redis', name: 'gateway, signed in, Redis store', store: redisStore, path: '/page', signedIn: true },
  ];
  for (const scenario of gatewayScenarios.filter((candidate) => only.has(candidate.key))) {
    const gateway = await startGateway(upstream.port, smtp.port, scenario.store, callgrind(scenario.key));
    const headers: Record<string, string> = { host: 'app.test' };
    if (scenario.signedIn) headers.cookie = await signIn(gateway.port, smtp, 'bench@example.com');
    rows.push(await measure(scenario.name, scenario.key, gateway.pid, { url: `http://127.0.0.1:${gateway.port}${scenario.path}`, headers }));
    gateway.child.kill('SIGTERM');
  }

  const bareCount = rows[0]!.instructionsPerRequest;
  const width = Math.max(...rows.map((row) => row.name.length));
  console.log(`\n| ${'scenario'.padEnd(width)} | instructions/request | vs bare | errors |`);
  console.log(`|${'-'.repeat(width + 2)}|----------------------|---------|--------|`);
  for (const row of rows) {
    console.log(
      `| ${row.name.padEnd(width)} | ${String(row.instructionsPerRequest).padStart(20)} | ${(row.instructionsPerRequest / bareCount).toFixed(2).padStart(7)} | ${String(row.errors).padStart(6)} |`,
    );
  }
}

main()
  .then(stopEverything, async (error: unknown) => {
    console.error(error);
    await stopEverything();
    process.exitCode = 1;
  })
  .finally(() => setTimeout(() => process.exit(), 3000).unref());
