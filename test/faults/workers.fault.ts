/**
 * Fault: one worker of a `workers: 2` gateway killed (SIGKILL) under load.
 *
 * What users see, asserted under steady load (keep-alive clients, and clients that open a
 * new connection for every request): the other worker keeps answering every guest the whole
 * time; only a request on the dead worker's connection fails (a reset, or the client re-sends
 * it on a new connection, where the other worker answers it); nobody is let in; the primary
 * starts a new worker within a bound, which then serves new connections, and /readyz is 200
 * again. No session is lost (they live in Redis).
 *
 * No request hangs: a connection the primary was handing to the worker as it died is handed
 * to the other worker (node:cluster's own scheduler kept such a connection open and never
 * answered it, about one per worker death; see src/cluster/connection-handoff.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import type { TestSmtpServer } from '../helpers/mail.js';
import { request } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import {
  FORGED_COOKIE,
  endedSessionCookie,
  faultGatewayYaml,
  faultSkipReason,
  freePorts,
  signInGuest,
  startBuiltGateway,
  startFaultParts,
  waitUntilReady,
  type FaultParts,
  type FaultRedis,
  type FaultUpstream,
  type StartedGateway,
} from './fault-world.js';
import { REQUEST_BOUND_MS, assertOutcomes, checkSessions, describeLoad, hungRequests, ofKind, reachedAppWithoutSession, report, splitPhases, standardLoops, startLoad, startedBetween } from './fault-load.js';

const REPLACEMENT_BOUND_MS = 5_000;

const skip = faultSkipReason();
let parts: FaultParts | undefined;
let redis: FaultRedis;
let upstream: FaultUpstream;
let smtp: TestSmtpServer;
let gw: StartedGateway;

before(async () => {
  if (skip) return;
  parts = await startFaultParts();
  ({ redis, upstream, smtp } = parts);
  const [port, adminPort] = await freePorts(2);
  gw = await startBuiltGateway(faultGatewayYaml({ port: port!, adminPort, redisPort: redis.port, smtpPort: smtp.port, upstreamPort: upstream.port, workers: 2 }), { adminPort });
  await waitUntilReady(gw.adminPort!);
});

after(async () => {
  if (gw) {
    // SIGTERM: the primary stops its workers, then exits; SIGKILL after a bound.
    gw.proc.child.kill('SIGTERM');
    await Promise.race([gw.proc.exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
    await gw.stop();
    for (const line of gw.proc.logs.filter((each) => each.event === 'worker.started')) {
      const pid = Number(line.pid);
      // Only a worker still running (a pid of ours whose command is still the gateway's).
      if (existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('gatehouse.js')) process.kill(pid, 'SIGKILL');
    }
  }
  await parts?.stop();
});

test('a worker killed (SIGKILL) with workers: 2: the other keeps answering every guest, nobody let in, the worker is replaced within 5 s and serves', { skip }, async (t) => {
  // Each process writes its log lines in batches: a worker's own line may follow the primary's gateway.started.
  const startedLines = () => gw.proc.logs.filter((line) => line.event === 'worker.started');
  await eventually(() => startedLines().length >= 2, 5_000, 'both workers logged worker.started');
  const workerPids = startedLines().map((line) => Number(line.pid));
  assert.equal(workerPids.length, 2, 'two workers started');
  const guests = [];
  for (let i = 1; i <= 4; i += 1) guests.push({ email: `worker${i}@example.com`, cookie: await signInGuest(gw.port, smtp, `worker${i}@example.com`, `127.0.100.${i}`) });
  const ended = await endedSessionCookie(gw.port, smtp, 'ended@example.com', '127.0.101.1');
  const load = startLoad([
    ...standardLoops([gw.port], guests, { forged: FORGED_COOKIE, ended }),
    // Clients without keep-alive: every request on a new connection, handed out by the primary.
    { kind: 'signed-in', ports: [gw.port], cookie: guests[0]!.cookie, guest: guests[0]!.email, newConnections: true },
    { kind: 'signed-in', ports: [gw.port], cookie: guests[1]!.cookie, guest: guests[1]!.email, newConnections: true },
    { kind: 'anonymous', ports: [gw.port], newConnections: true },
    { kind: 'anonymous', ports: [gw.port], newConnections: true },
  ]);
  await load.eachLoopCompletes(20);

  // The worker that served the most requests so far (access lines carry the worker's pid).
  const served = (pid: number) => gw.proc.logs.filter((line) => line.event === 'request' && line.pid === pid).length;
  const victim = [...workerPids].sort((a, b) => served(b) - served(a))[0]!;
  const survivor = workerPids.find((pid) => pid !== victim)!;
  const servedBefore = new Map(workerPids.map((pid) => [pid, served(pid)]));
  const killAt = Date.now();
  process.kill(victim, 'SIGKILL');
  const exited = await gw.proc.waitForLog((line) => line.event === 'worker.exited' && line.worker_pid === victim);
  const started = await gw.proc.waitForLog((line) => line.event === 'worker.started' && Number(line.time) >= killAt && !workerPids.includes(Number(line.pid)), REPLACEMENT_BOUND_MS * 2);
  const replacedAt = Number(started.time);
  const replacement = Number(started.pid);
  await load.eachLoopCompletes(20);
  const samples = await load.stop();
  await upstream.sync();

  // New connections are shared between the workers again: the new one answers some.
  const fresh = [];
  for (let round = 0; round < 10; round += 1) fresh.push(...(await checkSessions(gw.port, guests)));
  const newWorkerLine = await gw.proc.waitForLog((line) => line.event === 'request' && line.pid === replacement, 5_000).catch(() => undefined);
  const ready = await request(gw.adminPort!, { path: '/readyz' });

  const phases = splitPhases(samples, killAt, replacedAt);
  const firstAnswer = samples.filter((sample) => sample.kind === 'signed-in' && sample.startedAt >= killAt && sample.outcome === 200).sort((a, b) => a.endedAt - b.endedAt)[0];
  const answeredMeanwhile = guests.map((guest) => startedBetween(samples, killAt, replacedAt).filter((sample) => sample.guest === guest.email && sample.outcome === 200).length);
  const withoutSession = reachedAppWithoutSession(upstream.records);
  const lost = (await checkSessions(gw.port, guests)).filter((outcome) => outcome !== 200).length;
  report(t, [
    `worker ${victim} killed (it had logged ${servedBefore.get(victim)} requests, worker ${survivor} ${servedBefore.get(survivor)}); worker.exited (signal ${String(exited.signal)}), new worker ${replacement} serving ${replacedAt - killAt} ms later (bound ${REPLACEMENT_BOUND_MS} ms)`,
    ...describeLoad(samples, phases),
    `first 200 after the kill: ${firstAnswer ? `${firstAnswer.endedAt - killAt} ms` : 'none'}; 200s per guest before the replacement: ${answeredMeanwhile.join(', ')}`,
    `fresh connections after the replacement: ${fresh.filter((outcome) => outcome === 200).length} of ${fresh.length} 200; the new worker answered: ${newWorkerLine ? 'yes' : 'no'}; /readyz ${ready.status}`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session; sessions lost: ${lost} of ${guests.length}`,
  ]);

  assertOutcomes(ofKind(phases.before, 'signed-in'), [200], 'signed in, before the kill');
  // A request that was on the dead worker's connection fails (or is re-sent and answered).
  assertOutcomes(ofKind(phases.during, 'signed-in'), [200, 'reset'], 'signed in, while a worker is missing');
  assert.ok(samples.filter((sample) => sample.outcome === 'reset').length <= load.loops, 'at most one failed request per client connection');
  assertOutcomes(ofKind(phases.after, 'signed-in'), [200], 'signed in, with the new worker');
  assertOutcomes(ofKind([...phases.before, ...phases.after], 'anonymous', 'forged', 'ended'), [401], 'unauthenticated');
  assertOutcomes(ofKind(phases.during, 'anonymous', 'forged', 'ended'), [401, 'reset'], 'unauthenticated, while a worker is missing');
  assert.ok(answeredMeanwhile.every((count) => count > 0), 'the other worker answered every guest before the replacement');
  assert.ok(replacedAt - killAt <= REPLACEMENT_BOUND_MS, `replaced within ${REPLACEMENT_BOUND_MS} ms (took ${replacedAt - killAt} ms)`);
  assert.ok(fresh.every((outcome) => outcome === 200), 'new connections are answered');
  assert.ok(newWorkerLine, 'the new worker serves requests');
  assert.equal(ready.status, 200, '/readyz with both workers');
  assert.equal(hungRequests(samples).length, 0, `no request hung past the ${REQUEST_BOUND_MS} ms client bound, the worker's death included`);
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.equal(lost, 0, 'sessions lost');
});
