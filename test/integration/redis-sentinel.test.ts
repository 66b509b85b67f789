/**
 * Redis Sentinel (SPEC section 8): the gateway finds the primary through three sentinels, and
 * a failover under load loses no session and lets nobody in; requests in the failover window
 * answer 503 and never hang. Real processes: a primary, its replica and three
 * `redis-server --sentinel`, started by the test on loopback ports; the failover is the
 * sentinels' own (`SENTINEL FAILOVER`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as pause } from 'node:timers/promises';
import { request, startGateway, type SimpleResponse } from '../helpers/servers.js';
import { FormClient } from '../helpers/form-client.js';
import { eventually } from '../helpers/raw-http.js';
import { SECRET, codeFromMail, mailTo, signedInCookie, startSignInWorld, submitCode, submitEmail, type SignInWorld } from '../helpers/sign-in-world.js';
import { createPrivateCa, redisCli, redisServerSkipReason, startSentinelGroup, type SentinelGroup } from '../helpers/redis-processes.js';
import { captureLogs, hasOpenssl } from '../helpers/mail.js';
import { uniqueRedisPrefix } from '../helpers/redis.js';

const skip = redisServerSkipReason();
/** No request may take longer than this, failover or not: the store's timeouts answer 503 first. */
const REQUEST_BOUND_MS = 3_000;

interface Outcome {
  readonly status: number | 'hung' | 'error';
  readonly ms: number;
}

/** One request, timed, given up (and counted as hung) after twice the bound. */
async function timed(send: () => Promise<SimpleResponse>): Promise<Outcome & { response?: SimpleResponse }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), REQUEST_BOUND_MS * 2);
  });
  try {
    const result = await Promise.race([send(), hung]);
    const ms = performance.now() - started;
    return result === 'hung' ? { status: 'hung', ms } : { status: result.status, ms, response: result };
  } catch {
    return { status: 'error', ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Keys under `prefix` on the Redis at `port` matching `pattern` (e.g. `sess:*`). */
function keysOn(port: number, prefix: string, pattern: string): string[] {
  return redisCli(port, ['--scan', '--pattern', `${prefix}${pattern}`]).split('\n').filter(Boolean);
}

describe('Redis Sentinel', { skip }, () => {
  let group: SentinelGroup;
  let world: SignInWorld;
  const prefix = uniqueRedisPrefix();

  before(async () => {
    group = await startSentinelGroup();
    const nodes = group.sentinels.map((sentinel) => `"127.0.0.1:${sentinel.port}"`).join(', ');
    // The sign-in loop below asks for a code every few hundred milliseconds from one address:
    // the per-address limit is raised so that only the failover can refuse it.
    world = await startSignInWorld(
      { yaml: `    redis:\n      sentinel: { name: ${group.name}, nodes: [${nodes}] }\n      prefix: "${prefix}"` },
      'otp:\n  max_per_ip: 10000/1h',
    );
  });
  after(async () => {
    await world?.close();
    await group?.stop();
  });

  test('a failover under load loses no session, lets nobody in, and answers 503 rather than hang', async () => {
    const guests = ['ann@example.com', 'bob@example.com', 'cid@example.com', 'dee@example.com'];
    const cookies = new Map<string, string>();
    for (const email of guests) cookies.set(email, await signedInCookie(world, email));
    // Written through the primary the sentinels named, and replicated before the failover.
    assert.ok(keysOn(group.primary.port, prefix, 'sess:*').length >= guests.length, 'the sessions are on the primary');
    await eventually(() => keysOn(group.replica.port, prefix, 'sess:*').length >= guests.length, 5_000, 'the sessions reached the replica');

    const outcomes: { guest: Outcome[]; stranger: Outcome[]; signIn: Outcome[] } = { guest: [], stranger: [], signIn: [] };
    const signedInDuringLoad = new Map<string, string>();
    // The loops run until the test has seen the recovery. Their bounds only stop a test
    // that went wrong: they are longer than all of the test's waits together (a failover
    // with its replica catching up took 15 s on a busy 2-core machine), and the loops are
    // paced so that fast 503s in the window cannot use up their counts before it ends.
    let loading = true;
    const deadline = performance.now() + 120_000;
    const stillLoading = (): boolean => loading && performance.now() < deadline;
    const PACING_MS = 5;

    const guestLoop = async (email: string): Promise<void> => {
      for (let sent = 0; stillLoading() && sent < 20_000; sent += 1) {
        outcomes.guest.push(await timed(() => request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie: cookies.get(email)! } })));
        await pause(PACING_MS);
      }
    };
    const strangerLoop = async (): Promise<void> => {
      for (let sent = 0; stillLoading() && sent < 20_000; sent += 1) {
        await pause(PACING_MS);
        const cookie = sent % 2 === 0 ? undefined : 'gatehouse=s%3Aforged-session-id.forgedsignature';
        outcomes.stranger.push(await timed(() => request(world.gw.port, { path: '/', headers: { host: 'app.test', accept: 'text/html', ...(cookie ? { cookie } : {}) } })));
      }
    };
    // Sign-ins go on through the failover: each either completes (and must then keep its
    // session) or is refused with 503 at some step; none may hang.
    const signInLoop = async (): Promise<void> => {
      for (let attempt = 0; stillLoading() && attempt < 2_000; attempt += 1) {
        if (attempt > 0) await pause(50);
        const email = `during-${attempt}@example.com`;
        const client = new FormClient(world.gw.port, 'app.test');
        const asked = await timed(async () => (await submitEmail(client, email, { rd: 'http://app.test/' })).post);
        outcomes.signIn.push(asked);
        if (asked.status !== 303) continue;
        const codePage = await client.get(String(asked.response!.headers.location));
        if (codePage.status !== 200) continue;
        const code = codeFromMail(await mailTo(world.smtp, email));
        const verified = await timed(() => submitCode(client, codePage, code));
        outcomes.signIn.push(verified);
        if (verified.status === 303) signedInDuringLoad.set(email, client.cookieHeader()!);
      }
    };

    const load = Promise.all([...guests.map(guestLoop), strangerLoop(), signInLoop()]);
    // Some traffic before the failover, then the sentinels move the primary to the replica.
    await eventually(() => outcomes.guest.length >= 40, 10_000, 'load is running');
    assert.match(redisCli(group.sentinels[0]!.port, ['sentinel', 'failover', group.name]), /OK/);
    await eventually(() => group.primaryPort() === group.replica.port, 20_000, 'the sentinels name the replica as primary');
    await eventually(() => /master_link_status:up/.test(redisCli(group.primary.port, ['info', 'replication'])), 20_000, 'the old primary follows the new one');
    // Recovered without a restart: every guest gets in again, and a sign-in completes.
    const since = outcomes.guest.length;
    await eventually(() => outcomes.guest.slice(since).filter((o) => o.status === 200).length >= guests.length * 3, 15_000, 'guests get in after the failover');
    const signInsBefore = signedInDuringLoad.size;
    await eventually(() => signedInDuringLoad.size > signInsBefore, 15_000, 'a sign-in completes after the failover');
    loading = false;
    await load;

    const all = [...outcomes.guest, ...outcomes.stranger, ...outcomes.signIn];
    assert.deepEqual(all.filter((o) => o.status === 'hung' || o.status === 'error'), [], 'no request hung or was cut');
    assert.deepEqual(all.filter((o) => o.ms > REQUEST_BOUND_MS), [], `every request answered within ${REQUEST_BOUND_MS} ms`);
    assert.deepEqual([...new Set(outcomes.guest.map((o) => o.status))].filter((s) => s !== 200 && s !== 503), [], 'guests got 200, or 503 in the window');
    assert.deepEqual([...new Set(outcomes.stranger.map((o) => o.status))].filter((s) => s === 200 || (typeof s === 'number' && s >= 500 && s !== 503)), [], 'strangers were never let in');
    assert.ok(
      world.upstream.requests.every((r) => typeof r.headers['x-auth-request-email'] === 'string' && r.headers['x-auth-request-email'] !== ''),
      'the app saw no request without a signed-in guest',
    );
    assert.deepEqual([...new Set(outcomes.signIn.map((o) => o.status))].filter((s) => s !== 303 && s !== 503), [], 'a sign-in step answers 303, or 503 in the window');

    // No session lost: the ones from before, and every sign-in the gateway confirmed during the window.
    for (const [email, cookie] of [...cookies, ...signedInDuringLoad]) {
      const answer = await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } });
      assert.equal(answer.status, 200, `${email} is still signed in`);
    }
    // And the new sessions are written to the promoted primary.
    const fresh = await signedInCookie(world, 'after@example.com');
    assert.equal((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie: fresh } })).status, 200);
    assert.ok(keysOn(group.replica.port, prefix, 'sess:*').length >= guests.length + signedInDuringLoad.size + 1, 'the promoted replica holds every session');
    const refused = outcomes.guest.filter((o) => o.status === 503).length;
    const refusedSignIns = outcomes.signIn.filter((o) => o.status === 503).length;
    assert.equal(world.logs.records().filter((line) => line.event === 'store.failover_unsafe').length, 0, 'no warning: the primaries refuse unreplicated writes');
    console.log(`# failover: ${outcomes.guest.length} guest requests (${refused} answered 503), ${outcomes.stranger.length} strangers refused, ${signedInDuringLoad.size} sign-ins completed and ${refusedSignIns} steps answered 503 while the new primary had no replica`);
  });
});

describe('Redis Sentinel whose primary takes writes with no replica attached', { skip }, () => {
  test('the gateway works, and warns once that a failover can lose sign-ins', async () => {
    const group = await startSentinelGroup('unsafe', { refuseUnreplicatedWrites: false });
    const nodes = group.sentinels.map((sentinel) => `"127.0.0.1:${sentinel.port}"`).join(', ');
    const world = await startSignInWorld({ yaml: `    redis:\n      sentinel: { name: ${group.name}, nodes: [${nodes}] }\n      prefix: "${uniqueRedisPrefix()}"` });
    try {
      const cookie = await signedInCookie(world, 'ann@example.com');
      assert.equal((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } })).status, 200);
      await eventually(() => world.logs.records().some((line) => line.event === 'store.failover_unsafe'), 5_000, 'store.failover_unsafe logged');
      assert.equal(world.logs.records().filter((line) => line.event === 'store.failover_unsafe').length, 1);
    } finally {
      await world.close();
      await group.stop();
    }
  });
});

describe('Redis Sentinel over TLS, with client certificates on every node and sentinel', { skip: skip ?? (hasOpenssl() ? undefined : 'openssl is not installed') }, () => {
  test('the gateway finds the primary through TLS sentinels and signs guests in', async () => {
    const ca = createPrivateCa();
    const group = await startSentinelGroup('secure', { tls: ca });
    const nodes = group.sentinels.map((sentinel) => `"127.0.0.1:${sentinel.port}"`).join(', ');
    const world = await startSignInWorld({
      yaml: [
        '    redis:',
        `      sentinel: { name: ${group.name}, nodes: [${nodes}] }`,
        `      prefix: "${uniqueRedisPrefix()}"`,
        `      tls: { ca: "${ca.caFile}", cert: "${ca.clientCert}", key: "${ca.clientKey}" }`,
      ].join('\n'),
    });
    try {
      const cookie = await signedInCookie(world, 'ann@example.com');
      assert.equal((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } })).status, 200);
    } finally {
      await world.close();
      await group.stop();
    }
  });
});

describe('Redis Sentinel with passwords on the data nodes and on the sentinels', { skip }, () => {
  test('the gateway authenticates to both and signs guests in; a wrong data password keeps it not ready', async () => {
    const group = await startSentinelGroup('guarded', { password: 'data-nodes-password', sentinelPassword: 'sentinels-password' });
    const nodes = group.sentinels.map((sentinel) => `"127.0.0.1:${sentinel.port}"`).join(', ');
    const storeYaml = (password: string): string =>
      [
        '    redis:',
        `      sentinel: { name: ${group.name}, nodes: [${nodes}], password: sentinels-password }`,
        `      password: ${password}`,
        `      prefix: "${uniqueRedisPrefix()}"`,
      ].join('\n');
    const world = await startSignInWorld({ yaml: storeYaml('data-nodes-password') });
    try {
      const cookie = await signedInCookie(world, 'ann@example.com');
      assert.equal((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } })).status, 200);
    } finally {
      await world.close();
    }
    const logs = captureLogs();
    const wrong = await startGateway(
      `
session:
  secret: ${SECRET}
  store:
${storeYaml('not-the-password')}
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`,
      { waitUntilReady: false, logger: logs.logger },
    );
    try {
      // Not merely "still connecting": the store reports why it cannot be used.
      await eventually(() => logs.records().some((line) => line.event === 'store.unavailable' && /WRONGPASS|invalid username-password|NOAUTH/i.test(String(line.reason))), 10_000, 'store.unavailable names the password');
      assert.equal((await request(wrong.adminPort!, { path: '/readyz' })).status, 503);
      assert.notEqual((await request(wrong.port, { path: '/', headers: { host: 'app.test', cookie: 'gatehouse=s%3Ax.y' } })).status, 200);
    } finally {
      await wrong.close();
      await group.stop();
    }
  });
});
