/**
 * Fault: Redis killed (SIGKILL) under load, then started again — with its data (the
 * append-only file, fsynced on every write), and without it (a fresh directory).
 *
 * What users see, asserted under steady load (signed-in guests, and requests with no
 * cookie, a forged one and an ended session's):
 * - during the outage a signed-in guest gets 200 (a session this gateway read in the last
 *   second) or 503, never a hang; unauthenticated requests get 401 (503 for the ended
 *   session's cookie, which needs the store to tell), never 200, and never reach the app;
 * - with its data, every session signed in before the kill gets 200 again, by itself, within
 *   a bound of Redis answering (no gateway restart);
 * - without its data, the sessions are gone: every guest is sent to sign in again (401 for
 *   an API call, 302 to the sign-in page for a browser), none is let in, and a new sign-in
 *   works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/servers.js';
import type { TestSmtpServer } from '../helpers/mail.js';
import {
  APP_HOST,
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
const GUESTS = 4;

const skip = faultSkipReason();
let parts: FaultParts | undefined;
let redis: FaultRedis;
let upstream: FaultUpstream;
let smtp: TestSmtpServer;
let gw: StartedGateway;
let ended: string;

before(async () => {
  if (skip) return;
  parts = await startFaultParts();
  ({ redis, upstream, smtp } = parts);
  const [port, adminPort] = await freePorts(2);
  gw = await startBuiltGateway(faultGatewayYaml({ port: port!, adminPort, redisPort: redis.port, smtpPort: smtp.port, upstreamPort: upstream.port }));
  await waitUntilReady(gw.adminPort!);
  ended = await endedSessionCookie(gw.port, smtp, 'ended@example.com', '127.0.2.1');
});

after(async () => {
  await gw?.stop();
  await parts?.stop();
});

async function signInGuests(prefix: string, subnet: number): Promise<Array<{ email: string; cookie: string }>> {
  const guests = [];
  for (let i = 1; i <= GUESTS; i += 1) {
    const email = `${prefix}${i}@example.com`;
    guests.push({ email, cookie: await signInGuest(gw.port, smtp, email, `127.0.${subnet}.${i}`) });
  }
  return guests;
}

test('Redis killed and restarted WITH its data: 200 or 503 during the outage, nobody let in, every session back by itself within 5 s', { skip }, async (t) => {
  const guests = await signInGuests('kept', 10);
  const load = startLoad(standardLoops([gw.port], guests, { forged: FORGED_COOKIE, ended }));
  await load.eachLoopCompletes(20);

  const faultStart = Date.now();
  await redis.kill();
  await gw.proc.waitForLog((line) => line.event === 'store.unavailable' && Number(line.time) >= faultStart);
  // Down until every guest has seen the outage (their cached sessions have expired), and a
  // little longer: ten more requests in each loop.
  await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultStart && sample.outcome === 503, 'a 503 while Redis is down');
  await load.eachLoopCompletes(10);
  const downFor = Date.now() - faultStart;
  await redis.restart({ keepData: true });
  const faultEnd = Date.now();
  const recovered = await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultEnd && sample.outcome === 200, 'a 200 after Redis came back');
  const firstRecovery = load.samples.find((sample) => sample.kind === 'signed-in' && sample.startedAt >= faultEnd && sample.outcome === 200)!;
  await load.eachLoopCompletes(20);
  const samples = await load.stop();
  await upstream.sync();

  const phases = splitPhases(samples, faultStart, recovered.endedAt);
  const lost = (await checkSessions(gw.port, guests)).filter((outcome) => outcome !== 200).length;
  const withoutSession = reachedAppWithoutSession(upstream.records);
  report(t, [
    `Redis down ${downFor} ms (SIGKILL, then restarted on its append-only file)`,
    ...describeLoad(samples, phases),
    `recovered (first 200) ${firstRecovery.endedAt - faultEnd} ms after Redis answered again; every guest ${recovered.endedAt - faultEnd} ms (bound ${RECOVERY_BOUND_MS} ms)`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session; sessions lost: ${lost} of ${guests.length}`,
  ]);

  assertOutcomes(ofKind(phases.before, 'signed-in'), [200], 'signed in, before the fault');
  assertOutcomes(ofKind(phases.during, 'signed-in'), [200, 503], 'signed in, Redis down');
  assertOutcomes(ofKind(phases.after, 'signed-in'), [200], 'signed in, after recovery');
  assertOutcomes(ofKind([...phases.before, ...phases.after], 'anonymous', 'forged', 'ended'), [401], 'unauthenticated, Redis up');
  assertOutcomes(ofKind(phases.during, 'anonymous', 'forged'), [401], 'no cookie or a forged one, Redis down');
  assertOutcomes(ofKind(phases.during, 'ended'), [401, 503], 'an ended session, Redis down');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.equal(lost, 0, 'sessions lost');
  assert.ok(recovered.endedAt - faultEnd <= RECOVERY_BOUND_MS, `every guest back within ${RECOVERY_BOUND_MS} ms (took ${recovered.endedAt - faultEnd} ms)`);
});

test('Redis killed and restarted WITHOUT its data: the sessions are gone, so every guest is sent to sign in again, never let in; a new sign-in works', { skip }, async (t) => {
  const guests = await signInGuests('gone', 20);
  const load = startLoad(standardLoops([gw.port], guests, { forged: FORGED_COOKIE, ended }));
  await load.eachLoopCompletes(20);

  const faultStart = Date.now();
  await redis.kill();
  await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultStart && sample.outcome === 503, 'a 503 while Redis is down');
  await load.eachLoopCompletes(10);
  const downFor = Date.now() - faultStart;
  await redis.restart({ keepData: false });
  const faultEnd = Date.now();
  // The recovery here is the gateway telling each guest to sign in again.
  const told = await eachGuestSees(load, guests, (sample) => sample.startedAt >= faultEnd && sample.outcome === 401, 'a 401 after Redis came back empty');
  const firstTold = load.samples.find((sample) => sample.kind === 'signed-in' && sample.startedAt >= faultEnd && sample.outcome === 401)!;
  await load.eachLoopCompletes(20);
  const samples = await load.stop();
  await upstream.sync();

  const phases = splitPhases(samples, faultStart, told.endedAt);
  const signedInAfterRestart = ofKind(samples, 'signed-in').filter((sample) => sample.startedAt >= faultEnd);
  const appSawGoneGuests = upstream.records.filter((record) => record.at >= faultEnd && guests.some((guest) => guest.email === record.guest));
  const withoutSession = reachedAppWithoutSession(upstream.records);
  const afterwards = await checkSessions(gw.port, guests);
  const browser = await request(gw.port, { path: '/p/page', headers: { host: APP_HOST, accept: 'text/html', cookie: guests[0]!.cookie } });
  const fresh = await signInGuest(gw.port, smtp, 'again@example.com', '127.0.21.1');
  const [freshOutcome] = await checkSessions(gw.port, [{ email: 'again@example.com', cookie: fresh }]);
  report(t, [
    `Redis down ${downFor} ms (SIGKILL, then restarted in an empty directory): sessions are gone by design`,
    ...describeLoad(samples, phases),
    `guests told to sign in again (first 401) ${firstTold.endedAt - faultEnd} ms after Redis answered; every guest ${told.endedAt - faultEnd} ms (bound ${RECOVERY_BOUND_MS} ms)`,
    `signed-in requests after the restart: ${signedInAfterRestart.length}, let in: ${signedInAfterRestart.filter((sample) => sample.outcome === 200).length}`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session, ${appSawGoneGuests.length} for a guest whose session was gone`,
    `a new sign-in afterwards: ${freshOutcome}`,
  ]);

  assertOutcomes(ofKind(phases.before, 'signed-in'), [200], 'signed in, before the fault');
  assertOutcomes(ofKind(phases.during, 'signed-in').filter((sample) => sample.startedAt < faultEnd), [200, 503], 'signed in, Redis down');
  assertOutcomes(signedInAfterRestart, [401, 503], 'signed in, after Redis came back empty: sent to sign in, never let in');
  assertOutcomes(ofKind(phases.after, 'signed-in'), [401], 'signed in, once the gateway knows the sessions are gone');
  assertOutcomes(ofKind([...phases.before, ...phases.after], 'anonymous', 'forged', 'ended'), [401], 'unauthenticated, Redis up');
  assertOutcomes(ofKind(phases.during, 'anonymous', 'forged'), [401], 'no cookie or a forged one, Redis down');
  assertOutcomes(ofKind(phases.during, 'ended'), [401, 503], 'an ended session, Redis down');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.deepEqual(appSawGoneGuests, [], 'no request of a guest whose session is gone reached the app');
  assert.deepEqual(afterwards, guests.map(() => 401), 'every guest is asked to sign in again');
  assert.equal(browser.status, 302, 'a browser is sent to the sign-in page');
  assert.match(String(browser.headers.location), /\/\.gatehouse\/login\?rd=/);
  assert.equal(freshOutcome, 200, 'a new sign-in works on the empty Redis');
  assert.ok(told.endedAt - faultEnd <= RECOVERY_BOUND_MS, `every guest told within ${RECOVERY_BOUND_MS} ms (took ${told.endedAt - faultEnd} ms)`);
});
