/**
 * The forward-auth section of `npm run bench` (issue 11, points 2 and 5): what it costs to put
 * the gateway behind nginx as an `auth_request` answerer, and what the signed assertion costs,
 * measured in one run against the same upstream (1 KiB answers), all signed in with a session
 * made by a real sign-in:
 *
 *   a. nginx alone in front of the upstream: the yardstick for a front proxy;
 *   b. nginx asking the gateway about every request (config/nginx/gatehouse.conf as shipped,
 *      only its ports and host changed, as the front-proxy tests run it);
 *   c. the gateway as the proxy (memory store, the assertion on, as shipped);
 *   d. the same with `assertion.enabled: false`: c − d is the assertion's cost per request.
 *
 * wrk is the load generator, alone on the load core; nginx (master and worker), the gateways
 * and the upstream all share the other core, so the servers are the bottleneck and the CPU
 * each of them spends per request adds up to what one request costs on that core.
 */
import { hrtime } from 'node:process';
import { readFileSync } from 'node:fs';
import type { TestSmtpServer } from '../test/helpers/mail.js';
import { PROXY_CORE, cpuMicros, formatMarkdownTable, freePort, median, send, signIn, startGateway, startPortPrinter } from './harness.js';
import { startPinnedNginx } from './static-upstream.js';
import { runWrk } from './wrk.js';

export interface ForwardAuthSettings {
  readonly seconds: number;
  readonly rounds: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly smtp: TestSmtpServer;
  /**
   * Idle connections nginx keeps per upstream in place of the shipped `keepalive 64`
   * (BENCH_NGINX_KEEPALIVE), to see what a pool smaller than the concurrency costs.
   */
  readonly nginxKeepalive?: number;
}

type Role = 'nginx' | 'gateway' | 'upstream';

interface Target {
  readonly key: 'a' | 'b' | 'c' | 'd';
  readonly name: string;
  readonly port: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The server processes this row's requests pass through, by role (nginx: master and workers). */
  readonly processes: () => ReadonlyArray<{ readonly role: Role; readonly pid: number }>;
  /** Whether the app must see the signed assertion on this row. */
  readonly assertionExpected: boolean;
}

interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU µs per request, by role. */
  readonly cpu: Readonly<Record<Role, number>>;
  /** Share of one core the servers used over the run, and wrk. */
  readonly serverCoreBusy: number;
  readonly loadCoreBusy: number;
  /** TCP connections accepted on the machine per 1,000 requests (a keep-alive pool too small shows here). */
  readonly acceptsPerThousand: number;
  readonly errors: number;
}

/** Connections accepted so far on this machine (`PassiveOpens`, every listener, loopback included). */
function tcpPassiveOpens(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
  const names = lines[0]!.split(/\s+/);
  return Number(lines[1]!.split(/\s+/)[names.indexOf('PassiveOpens')]);
}

/** Row a's nginx: the shipped config without its forward-auth lines, so the app's location keeps the same proxy_pass, keep-alive upstream and headers. */
export function withoutForwardAuth(shippedConf: string): string {
  const conf = shippedConf
    .split('\n')
    .filter((line) => !/^\s*(auth_request|auth_request_set|error_page)\b|\$gatehouse_/.test(line))
    .join('\n');
  if (/auth_request|\$gatehouse_/.test(conf.replace(/#.*$/gm, ''))) throw new Error('the nginx yardstick still asks the gateway');
  return conf;
}

/** One request for `/headers` through the row: it must pass, and the app must get the identity (and the assertion where expected). */
async function checkWhatTheAppGets(target: Target, email: string): Promise<void> {
  const answer = await send(target.port, { path: '/headers', headers: target.headers });
  if (answer.status !== 200) throw new Error(`${target.name}: /headers answered ${answer.status}`);
  const seen = JSON.parse(answer.text) as Record<string, string>;
  const signedIn = target.key !== 'a';
  if (signedIn && seen['x-auth-request-email'] !== email) throw new Error(`${target.name}: the app got no identity: ${answer.text}`);
  if (Boolean(seen['x-gatehouse-assertion']) !== target.assertionExpected) {
    throw new Error(`${target.name}: the app ${target.assertionExpected ? 'got no' : 'got an'} assertion`);
  }
}

async function measure(target: Target, settings: ForwardAuthSettings, warmUp: boolean): Promise<Sample> {
  const url = `http://127.0.0.1:${target.port}/page`;
  const load = { url, headers: target.headers, connections: settings.connections };
  // Unmeasured, so every row is measured with warm JITs, pools and nginx keep-alive caches.
  if (warmUp && settings.warmupSeconds > 0) await runWrk({ ...load, seconds: settings.warmupSeconds });
  const processes = target.processes();
  const before = processes.map(({ pid }) => cpuMicros(pid));
  const acceptsBefore = tcpPassiveOpens();
  const started = hrtime.bigint();
  const result = await runWrk({ ...load, seconds: settings.seconds });
  const wallMicros = Number(hrtime.bigint() - started) / 1000;
  const accepts = tcpPassiveOpens() - acceptsBefore;
  const cpu: Record<Role, number> = { nginx: 0, gateway: 0, upstream: 0 };
  processes.forEach(({ role, pid }, i) => (cpu[role] += cpuMicros(pid) - before[i]!));
  const serverMicros = cpu.nginx + cpu.gateway + cpu.upstream;
  const perRequest = (micros: number) => (result.requests ? micros / result.requests : 0);
  return {
    rps: Math.round(result.requestsPerSecond),
    p50: result.p50,
    p99: result.p99,
    cpu: { nginx: perRequest(cpu.nginx), gateway: perRequest(cpu.gateway), upstream: perRequest(cpu.upstream) },
    serverCoreBusy: serverMicros / wallMicros,
    loadCoreBusy: result.cpuMicros / wallMicros,
    acceptsPerThousand: result.requests ? (accepts * 1000) / result.requests : 0,
    // Anything but a 2xx is an error here: every request of these rows is signed in.
    errors: result.non2xx + result.socketErrors,
  };
}

function medianSample(samples: readonly Sample[]): Sample {
  const of = (pick: (sample: Sample) => number) => median(samples.map(pick));
  return {
    rps: of((s) => s.rps),
    p50: of((s) => s.p50),
    p99: of((s) => s.p99),
    cpu: { nginx: of((s) => s.cpu.nginx), gateway: of((s) => s.cpu.gateway), upstream: of((s) => s.cpu.upstream) },
    serverCoreBusy: of((s) => s.serverCoreBusy),
    loadCoreBusy: of((s) => s.loadCoreBusy),
    acceptsPerThousand: of((s) => s.acceptsPerThousand),
    errors: samples.reduce((sum, s) => sum + s.errors, 0),
  };
}

function formatForwardAuthTable(rows: ReadonlyArray<{ target: Target; sample: Sample }>): string {
  const yardstick = rows[0]!.sample;
  const proxyCpu = (sample: Sample) => sample.cpu.nginx + sample.cpu.gateway;
  const total = (sample: Sample) => proxyCpu(sample) + sample.cpu.upstream;
  const us = (value: number) => value.toFixed(1);
  const header = [
    'row',
    'req/s',
    'p50 ms',
    'p99 ms',
    'front-proxy CPU µs/req (nginx master+worker)',
    'gateway CPU µs/req',
    'upstream CPU µs/req',
    'all servers µs/req',
    'vs a (req/s, p99, front-proxy+gateway CPU)',
    'server core / wrk core busy',
    'TCP accepts per 1k req',
    'errors',
  ];
  const lines = rows.map(({ target, sample }) => [
    target.name,
    String(sample.rps),
    sample.p50.toFixed(2),
    sample.p99.toFixed(2),
    target.key === 'a' || target.key === 'b' ? us(sample.cpu.nginx) : '—',
    target.key === 'a' ? '—' : us(sample.cpu.gateway),
    us(sample.cpu.upstream),
    us(total(sample)),
    `${(sample.rps / yardstick.rps).toFixed(2)}, ${(sample.p99 / yardstick.p99).toFixed(2)}, ${(proxyCpu(sample) / proxyCpu(yardstick)).toFixed(2)}`,
    `${Math.round(sample.serverCoreBusy * 100)}% / ${Math.round(sample.loadCoreBusy * 100)}%`,
    String(Math.round(sample.acceptsPerThousand)),
    String(sample.errors),
  ]);
  return formatMarkdownTable(header, lines);
}

/** Runs rows a–d in interleaved rounds and returns the table of their medians. */
export async function forwardAuthSection(settings: ForwardAuthSettings): Promise<string> {
  // The front-proxy tests' own rewrite of the shipped nginx config (ports and host only).
  // Imported here, not at the top: that module brings playwright-core along.
  const { exampleConfig: shippedWithPorts } = await import('../test/front-proxies/front-proxy-world.js');
  const exampleConfig = (...args: Parameters<typeof shippedWithPorts>) => {
    const conf = shippedWithPorts(...args);
    if (settings.nginxKeepalive === undefined) return conf;
    if (conf.split('keepalive 64;').length !== 3) throw new Error('config/nginx/gatehouse.conf no longer has two `keepalive 64;` lines');
    return conf.replaceAll('keepalive 64;', `keepalive ${settings.nginxKeepalive};`);
  };
  const email = 'bench@example.com';
  const upstream = await startPortPrinter('./upstream-server.ts', [], { core: PROXY_CORE });
  const upstreamProcess = { role: 'upstream' as const, pid: upstream.child.pid! };

  // a. nginx alone. Its config still names a gatehouse upstream; nothing is ever sent there.
  const aloneNginxPort = await freePort();
  const aloneNginx = await startPinnedNginx(withoutForwardAuth(exampleConfig('nginx', { proxy: aloneNginxPort, gateway: await freePort(), app: upstream.port })), aloneNginxPort);

  // b. nginx asking a gateway that has the app's route without `to`, and trusts nginx.
  const askingNginxPort = await freePort();
  const origin = `wiki.localhost:${askingNginxPort}`;
  const answering = await startGateway(upstream.port, settings.smtp.port, 'memory', {
    core: PROXY_CORE,
    extraConfig: 'trust_proxy: ["127.0.0.1/32"]',
    routes: `  - name: wiki\n    from: http://${origin}/\n    allow: ["*@example.com"]`,
  });
  const askingNginx = await startPinnedNginx(exampleConfig('nginx', { proxy: askingNginxPort, gateway: answering.port, app: upstream.port }), askingNginxPort);
  // Signed in on the app's host, through nginx's /.gatehouse/ location, as a guest would.
  const askingCookie = await signIn(askingNginxPort, settings.smtp, email, origin);

  // c and d. The gateway as the proxy, with and without the assertion.
  const proxying = await startGateway(upstream.port, settings.smtp.port, 'memory', { core: PROXY_CORE });
  const proxyingCookie = await signIn(proxying.port, settings.smtp, email);
  const unsigned = await startGateway(upstream.port, settings.smtp.port, 'memory', { core: PROXY_CORE, extraConfig: 'assertion:\n  enabled: false' });
  const unsignedCookie = await signIn(unsigned.port, settings.smtp, email);

  const nginxProcesses = (pids: () => number[]) => pids().map((pid) => ({ role: 'nginx' as const, pid }));
  const targets: Target[] = [
    {
      key: 'a',
      name: 'a. nginx alone (yardstick)',
      port: aloneNginxPort,
      headers: { host: origin, cookie: askingCookie },
      processes: () => [...nginxProcesses(aloneNginx.pids), upstreamProcess],
      assertionExpected: false,
    },
    {
      key: 'b',
      name: 'b. nginx + auth_request to the gateway',
      port: askingNginxPort,
      headers: { host: origin, cookie: askingCookie },
      processes: () => [...nginxProcesses(askingNginx.pids), { role: 'gateway', pid: answering.pid }, upstreamProcess],
      assertionExpected: true,
    },
    {
      key: 'c',
      name: 'c. gateway as the proxy (memory store)',
      port: proxying.port,
      headers: { host: 'app.test', cookie: proxyingCookie },
      processes: () => [{ role: 'gateway', pid: proxying.pid }, upstreamProcess],
      assertionExpected: true,
    },
    {
      key: 'd',
      name: 'd. gateway as the proxy, assertion off',
      port: unsigned.port,
      headers: { host: 'app.test', cookie: unsignedCookie },
      processes: () => [{ role: 'gateway', pid: unsigned.pid }, upstreamProcess],
      assertionExpected: false,
    },
  ];
  for (const target of targets) await checkWhatTheAppGets(target, email);

  // Interleaved rounds, medians: a burst of noise moves one sample, not a row.
  const samples = new Map<Target, Sample[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < settings.rounds; round += 1) {
    for (const target of targets) samples.get(target)!.push(await measure(target, settings, round === 0));
  }
  for (const gateway of [answering, proxying, unsigned]) gateway.child.kill('SIGTERM');
  await Promise.all([aloneNginx.stop(), askingNginx.stop()]);
  upstream.child.kill('SIGTERM');
  return formatForwardAuthTable(targets.map((target) => ({ target, sample: medianSample(samples.get(target)!) })));
}
