/**
 * The in-process session cache may never let a revoked session through for more than one
 * second: a session ended on one gateway (or deleted from Redis by anyone) stops working on
 * every gateway sharing that Redis within a second.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, startUpstream } from '../helpers/servers.js';
import { FormClient } from '../helpers/form-client.js';
import { redisSkipReason, uniqueRedisPrefix, REDIS_URL } from '../helpers/redis.js';
import { SECRET, signIn, type SignInWorld } from '../helpers/sign-in-world.js';
import { startTestSmtpServer, captureLogs } from '../helpers/mail.js';
import { SESSION_CACHE_MAX_AGE_MS } from '../../src/session/session-cache.js';

let skip: string | undefined;
before(async () => {
  skip = await redisSkipReason();
});

/** Requests every 20 ms until one is refused; returns how long after `since` the last success was. */
async function lastSuccessAfter(client: FormClient, since: number, limitMs: number): Promise<number> {
  let lastSuccess = -Infinity;
  while (Date.now() - since < limitMs) {
    const sentAt = Date.now();
    const response = await client.get('/x');
    if (response.status === 200) lastSuccess = sentAt - since;
    else {
      assert.equal(response.status, 302);
      return lastSuccess;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the revoked session still worked after ${limitMs} ms`);
}

test('a logout on gateway A stops the session on gateway B (same Redis) within one second', { timeout: 30_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const upstream = await startUpstream();
  const smtp = await startTestSmtpServer();
  t.after(() => Promise.all([upstream.close(), smtp.close()]));
  const yaml = `
session:
  secret: ${SECRET}
  store:
    redis: { url: "${REDIS_URL}", prefix: "${uniqueRedisPrefix()}" }
mail:
  transport: smtp
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
`;
  const logs = captureLogs();
  const a = await startGateway(yaml, { logger: logs.logger });
  const b = await startGateway(yaml);
  t.after(() => Promise.all([a.close(), b.close()]));
  const world = { gw: a, upstream, smtp, logs } as unknown as SignInWorld;
  const onA = new FormClient(a.port, 'app.test');
  assert.equal((await signIn(world, onA, 'bob@example.com')).status, 303);
  const onB = new FormClient(b.port, 'app.test');
  onB.cookies.set('gatehouse', onA.cookies.get('gatehouse')!);
  assert.equal((await onB.get('/x')).status, 200, 'gateway B shares the session');
  assert.equal((await onB.get('/x')).status, 200, 'and now has it cached');

  const loggedOutAt = Date.now();
  const copy = onA.cookies.get('gatehouse')!;
  assert.equal((await onA.get('/.gatehouse/logout')).status, 200);
  onB.cookies.set('gatehouse', copy);
  const lastSuccess = await lastSuccessAfter(onB, loggedOutAt, 3000);
  assert.ok(lastSuccess < SESSION_CACHE_MAX_AGE_MS, `gateway B let the ended session through ${lastSuccess} ms after logout`);
  const onAAgain = new FormClient(a.port, 'app.test');
  onAAgain.cookies.set('gatehouse', copy);
  assert.equal((await onAAgain.get('/x')).status, 302, 'gateway A drops it at once');
});
