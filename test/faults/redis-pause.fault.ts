/**
 * Fault: Redis paused (SIGSTOP) under load, then resumed (SIGCONT). The connections stay
 * open and nothing answers: the worst case for a client that waits.
 *
 * What users see, asserted under steady load: a signed-in guest gets 200 (a session read in
 * the last second) or 503 — each within about the gateway's 1 s command timeout, never a
 * hang —; unauthenticated requests get 401 (503 for an ended session's cookie), never 200,
 * and never reach the app; once Redis runs again every session gets 200 by itself, within
 * a bound, and none is lost.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestSmtpServer } from '../helpers/mail.js';
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
import {
  assertOutcomes,
  checkSessions,
  describeLoad,
  eachGuestSees,
  hungRequests,
  ofKind,
  reachedAppWithoutSession,
  report,
  splitPhases,
  standardLoops,
  startLoad,
} from './fault-load.js';

const RECOVERY_BOUND_MS = 5_000;
/** The gateway's Redis command timeout is 1 s; a request waits for at most one command of it (and a stall extension on a busy machine). */
const SLOWEST_ANSWER_BOUND_MS = 3_000;

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
  gw = await startBuiltGateway(faultGatewayYaml({ port: port!, adminPort, redisPort: redis.port, smtpPort: smtp.port, upstreamPort: upstream.port }));
  await waitUntilReady(gw.adminPort!);
});

after(async () => {
  await gw?.stop();
  await parts?.stop();
});

test('Redis paused (SIGSTOP) then resumed: 200 or 503 within ~1 s each, never a hang, nobody let in; every session back by itself', { skip }, async (t) => {
  const guests = [];
  for (let i = 1; i <= 4; i += 1) guests.push({ email: `paused${i}@example.com`, cookie: await signInGuest(gw.port, smtp, `paused${i}@example.com`, `127.0.30.${i}`) });
  const ended = await endedSessionCookie(gw.port, smtp, 'ended@example.com', '127.0.31.1');
  const load = startLoad(standardLoops([gw.port], guests, { forged: FORGED_COOKIE, ended }));
  await load.eachLoopCompletes(20);

  const faultStart = Date.now();
  redis.pause();
  try {
    await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultStart && sample.outcome === 503, 'a 503 while Redis is paused');
    await load.eachLoopCompletes(2);
  } finally {
    redis.resume();
  }
  const faultEnd = Date.now();
  const recovered = await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultEnd && sample.outcome === 200, 'a 200 after Redis resumed');
  const firstRecovery = load.samples.find((sample) => sample.kind === 'signed-in' && sample.startedAt >= faultEnd && sample.outcome === 200)!;
  await load.eachLoopCompletes(20);
  const samples = await load.stop();
  await upstream.sync();

  const phases = splitPhases(samples, faultStart, recovered.endedAt);
  const slowest = Math.max(...phases.during.map((sample) => sample.endedAt - sample.startedAt));
  const lost = (await checkSessions(gw.port, guests)).filter((outcome) => outcome !== 200).length;
  const withoutSession = reachedAppWithoutSession(upstream.records);
  report(t, [
    `Redis paused ${faultEnd - faultStart} ms (SIGSTOP, then SIGCONT)`,
    ...describeLoad(samples, phases),
    `slowest answer while paused: ${slowest} ms (bound ${SLOWEST_ANSWER_BOUND_MS} ms)`,
    `recovered (first 200) ${firstRecovery.endedAt - faultEnd} ms after SIGCONT; every guest ${recovered.endedAt - faultEnd} ms (bound ${RECOVERY_BOUND_MS} ms)`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session; sessions lost: ${lost} of ${guests.length}`,
  ]);

  assertOutcomes(ofKind(phases.before, 'signed-in'), [200], 'signed in, before the fault');
  assertOutcomes(ofKind(phases.during, 'signed-in'), [200, 503], 'signed in, Redis paused');
  assertOutcomes(ofKind(phases.after, 'signed-in'), [200], 'signed in, after recovery');
  assertOutcomes(ofKind([...phases.before, ...phases.after], 'anonymous', 'forged', 'ended'), [401], 'unauthenticated, Redis running');
  assertOutcomes(ofKind(phases.during, 'anonymous', 'forged'), [401], 'no cookie or a forged one, Redis paused');
  assertOutcomes(ofKind(phases.during, 'ended'), [401, 503], 'an ended session, Redis paused');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.ok(slowest <= SLOWEST_ANSWER_BOUND_MS, `every answer while paused within ${SLOWEST_ANSWER_BOUND_MS} ms (slowest ${slowest} ms)`);
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.equal(lost, 0, 'sessions lost');
  assert.ok(recovered.endedAt - faultEnd <= RECOVERY_BOUND_MS, `every guest back within ${RECOVERY_BOUND_MS} ms (took ${recovered.endedAt - faultEnd} ms)`);
});
