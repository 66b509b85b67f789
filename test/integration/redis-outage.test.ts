/**
 * Fail closed: when Redis goes away, protected requests get 503 (never let through), public
 * paths keep working, /readyz says so; when Redis comes back, everything recovers by itself.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/servers.js';
import { redisSkipReason, REDIS_URL } from '../helpers/redis.js';
import { startTcpRelay } from '../helpers/tcp-proxy.js';
import { hiddenField } from '../helpers/form-client.js';
import { signIn, startSignInWorld } from '../helpers/sign-in-world.js';

let skip: string | undefined;
before(async () => {
  skip = await redisSkipReason();
});

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('Redis going away means 503 on protected paths, public paths still work, and recovery is automatic', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const redis = new URL(REDIS_URL);
  const relay = await startTcpRelay(redis.hostname, Number(redis.port || 6379));
  t.after(() => relay.close());
  const world = await startSignInWorld('redis', '', undefined, `redis://127.0.0.1:${relay.port}`);
  t.after(() => world.close());
  const client = world.client();
  assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
  assert.equal((await client.get('/private')).status, 200);
  const ready = () => request(world.gw.adminPort!, { path: '/readyz' });
  assert.equal((await ready()).status, 200);

  await relay.cut();
  await eventually(async () => (await client.get('/private')).status === 503, 5000, 'a 503 for a protected path');
  const seenBefore = world.upstream.requests.length;
  const api = await client.get('/private', { accept: 'application/json' });
  assert.equal(api.status, 503);
  assert.equal(api.json<{ error: string }>().error, 'store_unavailable');
  assert.equal(world.upstream.requests.length, seenBefore, 'nothing protected reached the app while Redis was down');
  assert.equal((await client.get('/open/page')).status, 200, 'public paths still work');
  assert.equal((await world.client().get('/private')).status, 302, 'no cookie at all: the normal redirect');
  const notReady = await ready();
  assert.equal(notReady.status, 503);
  assert.match(notReady.text(), /"store":"unreachable"/);
  // Sign-in pages fail closed too, with a page, not a crash.
  const fresh = world.client();
  const loginPage = await fresh.get('/.gatehouse/login');
  const codeRequest = await fresh.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: hiddenField(loginPage.text(), 'csrf') });
  assert.equal(codeRequest.status, 503);

  await relay.restore();
  await eventually(async () => (await client.get('/private')).status === 200, 10_000, 'recovery after Redis came back');
  assert.equal((await ready()).status, 200);
  assert.equal(world.upstream.requests.at(-1)!.headers['x-auth-request-email'], 'bob@example.com', 'the session survived the outage');
});
