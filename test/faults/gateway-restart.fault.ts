/**
 * Fault: the gateway stopped (SIGTERM) and started again on the same config, port and Redis,
 * under load.
 *
 * What users see, asserted under steady load: while no gateway listens, connections are
 * refused (never a hang, never a reset of an answered request, never a 503: the new
 * process listens once its Redis answers); nobody unauthenticated
 * reaches the app; once the new process listens, every session signed in before the restart
 * gets 200 (sessions live in Redis: none is lost), within a bound of its start.
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
  eachLoopSees,
  hungRequests,
  ofKind,
  reachedAppWithoutSession,
  report,
  splitPhases,
  standardLoops,
  startLoad,
} from './fault-load.js';

const RECOVERY_BOUND_MS = 5_000;

const skip = faultSkipReason();
let parts: FaultParts | undefined;
let redis: FaultRedis;
let upstream: FaultUpstream;
let smtp: TestSmtpServer;
const gateways: StartedGateway[] = [];

before(async () => {
  if (skip) return;
  parts = await startFaultParts();
  ({ redis, upstream, smtp } = parts);
});

after(async () => {
  for (const gw of gateways) await gw.stop();
  await parts?.stop();
});

test('the gateway restarted on the same Redis: connections refused while it is down, nobody let in, every session kept and back within 5 s of the start', { skip }, async (t) => {
  const [port, adminPort] = await freePorts(2);
  const first = await startBuiltGateway(faultGatewayYaml({ port: port!, adminPort, redisPort: redis.port, smtpPort: smtp.port, upstreamPort: upstream.port }));
  gateways.push(first);
  await waitUntilReady(first.adminPort!);
  const guests = [];
  for (let i = 1; i <= 4; i += 1) guests.push({ email: `restart${i}@example.com`, cookie: await signInGuest(first.port, smtp, `restart${i}@example.com`, `127.0.80.${i}`) });
  const ended = await endedSessionCookie(first.port, smtp, 'ended@example.com', '127.0.81.1');
  const load = startLoad(standardLoops([first.port], guests, { forged: FORGED_COOKIE, ended }));
  await load.eachLoopCompletes(20);

  const faultStart = Date.now();
  first.proc.child.kill('SIGTERM');
  const exitCode = await first.proc.exited;
  const stoppedAt = Date.now();
  // Down until every loop has found nobody listening.
  await eachLoopSees(load, (sample) => sample.startedAt >= faultStart && sample.outcome === 'refused', 'a refused connection');
  await load.eachLoopCompletes(3);
  const second = await startBuiltGateway('', { file: first.file });
  gateways.push(second);
  const faultEnd = Date.now();
  const recovered = await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultEnd && sample.outcome === 200, 'a 200 from the new process');
  const firstRecovery = load.samples.find((sample) => sample.kind === 'signed-in' && sample.startedAt >= faultEnd && sample.outcome === 200)!;
  await load.eachLoopCompletes(20);
  const samples = await load.stop();
  await upstream.sync();

  const phases = splitPhases(samples, faultStart, recovered.endedAt);
  const lost = (await checkSessions(second.port, guests)).filter((outcome) => outcome !== 200).length;
  const withoutSession = reachedAppWithoutSession(upstream.records);
  report(t, [
    `gateway stopped (SIGTERM, exit ${exitCode}) in ${stoppedAt - faultStart} ms; no gateway for ${faultEnd - stoppedAt} ms until the new process listened (${faultEnd - faultStart} ms in all)`,
    ...describeLoad(samples, phases),
    `recovered (first 200) ${firstRecovery.endedAt - faultEnd} ms after the new process listened; every guest ${recovered.endedAt - faultEnd} ms (bound ${RECOVERY_BOUND_MS} ms)`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session; sessions lost: ${lost} of ${guests.length}`,
  ]);

  assert.equal(exitCode, 0, 'SIGTERM: exit 0');
  assertOutcomes(ofKind(phases.before, 'signed-in'), [200], 'signed in, before the restart');
  // No 503: the new process listens once its Redis answers (it used to listen first and
  // answer its first signed-in guests 503).
  assertOutcomes(ofKind(phases.during, 'signed-in'), [200, 'refused'], 'signed in, during the restart');
  assertOutcomes(ofKind(phases.after, 'signed-in'), [200], 'signed in, after the restart');
  assertOutcomes(ofKind([...phases.before, ...phases.after], 'anonymous', 'forged', 'ended'), [401], 'unauthenticated, a gateway up');
  assertOutcomes(ofKind(phases.during, 'anonymous', 'forged'), [401, 'refused'], 'no cookie or a forged one, during the restart');
  assertOutcomes(ofKind(phases.during, 'ended'), [401, 'refused'], 'an ended session, during the restart');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.equal(lost, 0, 'sessions lost');
  assert.ok(recovered.endedAt - faultEnd <= RECOVERY_BOUND_MS, `every guest back within ${RECOVERY_BOUND_MS} ms (took ${recovered.endedAt - faultEnd} ms)`);
});
