/**
 * Fault: the mail server refuses connections (closed port), rejects every message (550),
 * or accepts connections and never answers (hung) — under load, then comes back.
 *
 * What users see, asserted under steady load (signed-in guests, unauthenticated requests,
 * and guests asking for codes one after another):
 * - a guest asking for a code gets the code page (the email form, 303, the code page) within
 *   a bound, whatever the mail server does: mail goes out after the answer;
 * - signed-in guests are not affected at all (200 only), unauthenticated requests get 401;
 * - the gateway says so in its log (`mail.failed`, with the 550 when the server said it),
 *   never `otp.sent` for a mail the server did not take;
 * - once the server is back, a guest asking for a code gets it and signs in, with no gateway
 *   restart, within a bound.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  FORGED_COOKIE,
  endedSessionCookie,
  faultGatewayYaml,
  faultSkipReason,
  freePorts,
  signInGuest,
  startBuiltGateway,
  startFaultUpstream,
  startSwitchableSmtp,
  type FaultUpstream,
  type SmtpMode,
  type StartedGateway,
  type SwitchableSmtp,
} from './fault-world.js';
import { assertOutcomes, checkSessions, describeOutcomes, hungRequests, ofKind, reachedAppWithoutSession, report, standardLoops, startLoad, startSignInLoop } from './fault-load.js';

/** Email form, code request and code page together, for one guest. */
const CODE_PAGE_BOUND_MS = 2_000;
const RECOVERY_BOUND_MS = 10_000;

const skip = faultSkipReason();
let upstream: FaultUpstream;
let smtp: SwitchableSmtp;
let gw: StartedGateway;
let guests: Array<{ email: string; cookie: string }>;
let ended: string;

before(async () => {
  if (skip) return;
  upstream = await startFaultUpstream();
  smtp = await startSwitchableSmtp();
  const [port] = await freePorts(1);
  gw = await startBuiltGateway(faultGatewayYaml({ port: port!, smtpPort: smtp.port, upstreamPort: upstream.port }));
  guests = [];
  for (let i = 1; i <= 3; i += 1) guests.push({ email: `mail${i}@example.com`, cookie: await signInGuest(gw.port, smtp.server, `mail${i}@example.com`, `127.0.60.${i}`) });
  ended = await endedSessionCookie(gw.port, smtp.server, 'ended@example.com', '127.0.61.1');
});

after(async () => {
  await gw?.stop();
  await upstream?.stop();
  await smtp?.close();
});

/**
 * Runs the load, puts the mail server in `mode` until `faultLasts` resolves, puts it back,
 * and checks what guests saw. Returns nothing: it asserts.
 */
async function mailServerFault(t: TestContext, mode: SmtpMode, name: string, faultLasts: (faultStart: number, signIns: ReturnType<typeof startSignInLoop>) => Promise<void>): Promise<void> {
  const load = startLoad(standardLoops([gw.port], guests, { forged: FORGED_COOKIE, ended }));
  const signIns = startSignInLoop(gw.port, `${mode}-asker`, '127.0.62.1');
  await load.eachLoopCompletes(10);
  await signIns.completes(3);

  const faultStart = Date.now();
  const receivedBefore = smtp.server.received.length;
  await smtp.setMode(mode);
  await faultLasts(faultStart, signIns);
  await smtp.setMode('deliver');
  const faultEnd = Date.now();
  // A message already on the wire when the switch dropped its connection may still reach the
  // server (the client never hears the 250 and sends it again): count only the mails of
  // guests who asked after the fault began.
  const askedDuringFault = new Set(signIns.attempts.filter((attempt) => attempt.startedAt >= faultStart).map((attempt) => attempt.email));
  const receivedDuring = smtp.server.received.slice(receivedBefore).filter((mail) => mail.rcptTo.some((to) => askedDuringFault.has(to))).length;
  // Recovery: a guest who asks now gets the mail and signs in.
  const recoveredEmail = `${mode}-back@example.com`;
  const cookie = await signInGuest(gw.port, smtp.server, recoveredEmail, '127.0.63.1');
  const recoveredAt = Date.now();
  const [recoveredOutcome] = await checkSessions(gw.port, [{ email: recoveredEmail, cookie }]);
  await load.eachLoopCompletes(10);
  const attempts = await signIns.stop();
  const samples = await load.stop();
  await upstream.sync();

  const during = attempts.filter((attempt) => attempt.endedAt > faultStart && attempt.startedAt < faultEnd);
  const slowestSignIn = Math.max(...attempts.map((attempt) => attempt.endedAt - attempt.startedAt));
  const failedMails = gw.proc.logs.filter((line) => line.event === 'mail.failed' && Number(line.time) >= faultStart && Number(line.time) <= recoveredAt);
  // otp.sent names the request; otp.requested names its address. Every address reported sent
  // must be one the mail server received a message for.
  const emailOfRequest = new Map(gw.proc.logs.filter((line) => line.event === 'otp.requested').map((line) => [line.req_id, String(line.email)]));
  const taken = new Set(smtp.server.received.flatMap((mail) => mail.rcptTo));
  const sentLines = gw.proc.logs.filter((line) => line.event === 'otp.sent');
  const sentButNotTaken = sentLines.filter((line) => !taken.has(emailOfRequest.get(line.req_id) ?? ''));
  const withoutSession = reachedAppWithoutSession(upstream.records);
  const outcomes = new Map<string, number>();
  for (const attempt of attempts) outcomes.set(attempt.outcome, (outcomes.get(attempt.outcome) ?? 0) + 1);
  report(t, [
    `mail server ${name} for ${faultEnd - faultStart} ms`,
    `load: ${samples.length} requests; signed-in ${describeOutcomes(ofKind(samples, 'signed-in'))}; unauthenticated ${describeOutcomes(ofKind(samples, 'anonymous', 'forged', 'ended'))}; ${hungRequests(samples).length} hit the bound`,
    `code requests: ${attempts.length} (${during.length} during the fault): ${[...outcomes].map(([outcome, count]) => `${outcome}×${count}`).join(' ')}; slowest ${slowestSignIn} ms (bound ${CODE_PAGE_BOUND_MS} ms)`,
    `mails taken during the fault for codes asked during it: ${receivedDuring}; otp.sent for a mail the server did not take: ${sentButNotTaken.length} (of ${sentLines.length}); mail.failed logged: ${failedMails.length}${failedMails[0] ? ` (smtp_status ${String(failedMails[0].smtp_status)}, attempts ${String(failedMails[0].attempts)})` : ''}`,
    `recovered: a new guest got the code and signed in ${recoveredAt - faultEnd} ms after the server was back (bound ${RECOVERY_BOUND_MS} ms)`,
    `app: ${upstream.records.length} requests, ${withoutSession.length} without a valid session`,
  ]);

  assert.equal(attempts.filter((attempt) => attempt.outcome !== 'code-page').length, 0, 'every guest asking for a code got the code page');
  assert.ok(during.length >= 3, 'guests asked for codes during the fault');
  assert.ok(slowestSignIn <= CODE_PAGE_BOUND_MS, `the code page within ${CODE_PAGE_BOUND_MS} ms (slowest ${slowestSignIn} ms)`);
  assertOutcomes(ofKind(samples, 'signed-in'), [200], 'signed-in guests, whatever the mail server does');
  assertOutcomes(ofKind(samples, 'anonymous', 'forged', 'ended'), [401], 'unauthenticated requests');
  assert.equal(hungRequests(samples).length, 0, 'no request hung past its bound');
  assert.deepEqual(withoutSession, [], 'no protected request reached the app without a valid session');
  assert.equal(receivedDuring, 0, 'the server took no mail asked for during the fault');
  assert.deepEqual(sentButNotTaken, [], 'otp.sent only for mails the server took');
  assert.equal(recoveredOutcome, 200, 'the guest who signed in after the recovery is let in');
  assert.ok(recoveredAt - faultEnd <= RECOVERY_BOUND_MS, `signed in within ${RECOVERY_BOUND_MS} ms of the server coming back (took ${recoveredAt - faultEnd} ms)`);
  if (mode !== 'hang') assert.ok(failedMails.length > 0, 'mail.failed is logged');
  if (mode === 'reject') assert.equal(failedMails[0]!.smtp_status, 550, 'the server\'s answer is in the log');
}

test('SMTP refusing connections (closed port): the code page within 2 s, signed-in traffic unaffected, mail.failed logged, mail flows again by itself', { skip }, async (t) => {
  await mailServerFault(t, 'closed', 'refusing connections', async (faultStart) => {
    // Until the first mail has used up its three attempts (0.5 s and 2 s apart).
    await gw.proc.waitForLog((line) => line.event === 'mail.failed' && Number(line.time) >= faultStart, 10_000);
  });
});

test('SMTP rejecting every message (550): the code page within 2 s, signed-in traffic unaffected, mail.failed with the 550, mail flows again by itself', { skip }, async (t) => {
  await mailServerFault(t, 'reject', 'rejecting mail with 550', async (faultStart, signIns) => {
    await gw.proc.waitForLog((line) => line.event === 'mail.failed' && Number(line.time) >= faultStart, 10_000);
    await signIns.completes(3);
  });
});

test('SMTP hanging (accepts, never answers): the code page within 2 s, signed-in traffic unaffected, no otp.sent, mail flows again by itself', { skip }, async (t) => {
  await mailServerFault(t, 'hang', 'hanging (connections accepted, never answered)', async (_faultStart, signIns) => {
    // Long enough for every pooled connection to be stuck on the silent server.
    await signIns.completes(30);
  });
});
