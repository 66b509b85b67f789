/**
 * Two gateways on one Redis, under load that sends every other request of each loop to
 * each gateway.
 *
 * What users see, asserted:
 * - a session made on either gateway works on both (200 from each, for each guest);
 * - a guest who signs out on one gateway, and a guest revoked through the other's admin API,
 *   are refused by both within about a second (the session cache's bound) and never let in
 *   again afterwards;
 * - the code-request limit of one client is one budget across both gateways: past it, both
 *   answer 429;
 * - nobody unauthenticated reaches the app.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestSmtpServer } from '../helpers/mail.js';
import { request } from '../helpers/servers.js';
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
import { askForCode, assertOutcomes, describeOutcomes, hungRequests, ofKind, reachedAppWithoutSession, report, standardLoops, startLoad, type Load, type Sample } from './fault-load.js';

/** The session cache holds a record for at most 1 s; the rest is this busy machine's slack. */
const REVOCATION_BOUND_MS = 1_500;
const ADMIN_TOKEN = 'fault-test-admin-token-0123456789abcdef';
/** Code requests per client and hour, on both gateways together. */
const CODES_PER_CLIENT = 4;

const skip = faultSkipReason();
let parts: FaultParts | undefined;
let redis: FaultRedis;
let upstream: FaultUpstream;
let smtp: TestSmtpServer;
let a: StartedGateway;
let b: StartedGateway;

before(async () => {
  if (skip) return;
  parts = await startFaultParts();
  ({ redis, upstream, smtp } = parts);
  const [portA, adminA, portB, adminB] = await freePorts(4);
  const otp = `  resend_after: 1s\n  max_per_email: 1000/1h\n  max_per_ip: ${CODES_PER_CLIENT}/1h`;
  const common = { redisPort: redis.port, smtpPort: smtp.port, upstreamPort: upstream.port, adminToken: ADMIN_TOKEN, otp };
  [a, b] = await Promise.all([
    startBuiltGateway(faultGatewayYaml({ ...common, port: portA!, adminPort: adminA })),
    startBuiltGateway(faultGatewayYaml({ ...common, port: portB!, adminPort: adminB })),
  ]);
  await waitUntilReady(a.adminPort!);
  await waitUntilReady(b.adminPort!);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await parts?.stop();
});

/** When the guest's last 200 began, and when the first refusal after `from` ended, per gateway port. */
function afterRevocation(load: Load, email: string, from: number): { lastAllowed: number | undefined; firstRefusedOn: Map<number, number> } {
  const ofGuest = load.samples.filter((sample) => sample.guest === email && sample.startedAt >= from);
  const allowed = ofGuest.filter((sample) => sample.outcome === 200);
  const firstRefusedOn = new Map<number, number>();
  for (const sample of ofGuest) if (sample.outcome === 401 && !firstRefusedOn.has(sample.port)) firstRefusedOn.set(sample.port, sample.endedAt);
  return { lastAllowed: allowed.at(-1)?.startedAt, firstRefusedOn };
}

test('two gateways on one Redis: sessions work on both, a sign-out or a revocation on one is seen on the other within 1.5 s, rate limits are shared', { skip }, async (t) => {
  const guests = [];
  for (let i = 1; i <= 4; i += 1) {
    const on = i <= 2 ? a : b;
    guests.push({ email: `both${i}@example.com`, cookie: await signInGuest(on.port, smtp, `both${i}@example.com`, `127.0.110.${i}`), madeOn: on.port });
  }
  const ended = await endedSessionCookie(a.port, smtp, 'ended@example.com', '127.0.111.1');
  const load = startLoad(standardLoops([a.port, b.port], guests, { forged: FORGED_COOKIE, ended }));
  await load.eachLoopCompletes(20);

  // Guest 1 (made on A) signs out on B; guest 4 (made on B) is revoked through A's admin API.
  const [signedOut, , , revoked] = guests;
  const signOutAt = Date.now();
  const out = await request(b.port, { path: '/.gatehouse/logout', headers: { host: APP_HOST, cookie: signedOut!.cookie, accept: 'text/html' } });
  assert.equal(out.status, 200, 'signed out on B');
  // Each gateway refuses them, and the load goes on past the bound (to see they stay out).
  const refusedBy = (email: string, port: number, from: number) =>
    load.waitForSample((sample) => sample.guest === email && sample.port === port && sample.startedAt >= from && sample.outcome === 401, 5_000, `${port} refusing ${email}`);
  const pastTheBound = (email: string, from: number) => load.waitForSample((sample) => sample.guest === email && sample.startedAt >= from + REVOCATION_BOUND_MS + 200, 5_000, `${email} past the bound`);
  await Promise.all([refusedBy(signedOut!.email, a.port, signOutAt), refusedBy(signedOut!.email, b.port, signOutAt)]);
  const revokeAt = Date.now();
  const revocation = await request(a.adminPort!, { method: 'DELETE', path: `/api/sessions?email=${encodeURIComponent(revoked!.email)}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(revocation.status, 200, revocation.text());
  await Promise.all([refusedBy(revoked!.email, a.port, revokeAt), refusedBy(revoked!.email, b.port, revokeAt), pastTheBound(signedOut!.email, signOutAt), pastTheBound(revoked!.email, revokeAt)]);

  // One client's code requests, alternately on A and B: one budget.
  const limited: string[] = [];
  for (let i = 0; i < CODES_PER_CLIENT + 2; i += 1) limited.push(await askForCode(i % 2 === 0 ? a.port : b.port, `limited${i}@example.com`, '127.0.119.1'));

  const samples = await load.stop();
  await upstream.sync();

  const still = guests.filter((guest) => guest !== signedOut && guest !== revoked);
  const perGateway = (port: number, guest: { email: string }) => samples.filter((sample) => sample.port === port && sample.guest === guest.email && sample.outcome === 200).length;
  const outSeen = afterRevocation(load, signedOut!.email, signOutAt);
  const revokedSeen = afterRevocation(load, revoked!.email, revokeAt);
  const lateAtApp = (email: string, from: number) => upstream.records.filter((record) => record.guest === email && record.at > from + REVOCATION_BOUND_MS);
  const late = [...lateAtApp(signedOut!.email, signOutAt), ...lateAtApp(revoked!.email, revokeAt)];
  const withoutSession = reachedAppWithoutSession(upstream.records);
  const ms = (at: number | undefined, from: number) => (at === undefined ? 'none' : `${at - from} ms`);
  report(t, [
    `load: ${samples.length} requests over gateways A (${a.port}) and B (${b.port}); ${hungRequests(samples).length} hit the bound`,
    `  guests kept: ${describeOutcomes(samples.filter((sample: Sample) => still.some((guest) => guest.email === sample.guest)))}; 200s per gateway: ${still.map((guest) => `${guest.email} A ${perGateway(a.port, guest)} B ${perGateway(b.port, guest)}`).join(', ')}`,
    `  unauthenticated: ${describeOutcomes(ofKind(samples, 'anonymous', 'forged', 'ended'))}`,
    `sign-out on B of a session made on A: last 200 began ${ms(outSeen.lastAllowed, signOutAt)} after; refused on A ${ms(outSeen.firstRefusedOn.get(a.port), signOutAt)}, on B ${ms(outSeen.firstRefusedOn.get(b.port), signOutAt)} (bound ${REVOCATION_BOUND_MS} ms)`,
    `admin API revocation on A (count ${revocation.json<{ count: number }>().count}) of a session made on B: last 200 began ${ms(revokedSeen.lastAllowed, revokeAt)} after; refused on B ${ms(revokedSeen.firstRefusedOn.get(b.port), revokeAt)}, on A ${ms(revokedSeen.firstRefusedOn.get(a.port), revokeAt)}`,
    `one client's ${limited.length} code requests, alternately on A and B (limit ${CODES_PER_CLIENT}): ${limited.join(', ')}`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session, ${late.length} for an ended session past the bound`,
  ]);

  for (const guest of still) {
    assert.ok(perGateway(a.port, guest) > 0 && perGateway(b.port, guest) > 0, `${guest.email}'s session works on both gateways`);
  }
  assertOutcomes(samples.filter((sample) => still.some((guest) => guest.email === sample.guest)), [200], 'guests still signed in, on both gateways');
  for (const [guest, from, seen] of [
    [signedOut!, signOutAt, outSeen],
    [revoked!, revokeAt, revokedSeen],
  ] as const) {
    const ofGuest = samples.filter((sample) => sample.guest === guest.email);
    assertOutcomes(ofGuest.filter((sample) => sample.endedAt <= from), [200], `${guest.email} before the sign-out`);
    assertOutcomes(ofGuest.filter((sample) => sample.startedAt >= from && sample.startedAt < from + REVOCATION_BOUND_MS), [200, 401], `${guest.email} just after the sign-out`);
    assertOutcomes(ofGuest.filter((sample) => sample.startedAt >= from + REVOCATION_BOUND_MS), [401], `${guest.email} once the bound has passed: never let in again`);
    assert.ok(seen.firstRefusedOn.has(a.port) && seen.firstRefusedOn.has(b.port), `${guest.email} refused by both gateways`);
  }
  assertOutcomes(ofKind(samples, 'anonymous', 'forged', 'ended'), [401], 'unauthenticated requests');
  assert.deepEqual(limited, [...Array<string>(CODES_PER_CLIENT).fill('code-page'), 'code request 429', 'code request 429'], 'one limit across both gateways');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.deepEqual(late, [], 'an ended session reaches the app through neither gateway past the bound');
});
