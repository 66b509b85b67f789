/**
 * A gateway process listens once its Redis store (and the assertion keys in it) can answer,
 * for up to a few seconds: a process that listened first answered its first signed-in
 * guests 503 — a worker replacing a dead one, beside a healthy worker, or a restarted
 * gateway (the fault suite, test/faults/workers.fault.ts and gateway-restart.fault.ts, saw
 * both). A Redis that stays down does not keep it from starting: it then listens and
 * reports not-ready, as before; SIGTERM while it waits exits 0.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from '../helpers/servers.js';
import { runGatehouse, writeTempConfig } from '../helpers/process.js';
import { redisSkipReason, uniqueRedisPrefix, REDIS_URL } from '../helpers/redis.js';
import { startTcpRelay, type TcpRelay } from '../helpers/tcp-proxy.js';
import { SECRET } from '../helpers/sign-in-world.js';

let skip: string | undefined;
before(async () => {
  skip = await redisSkipReason();
});

function configFor(relay: TcpRelay): string {
  return writeTempConfig(`listen: 127.0.0.1:0
admin: { listen: "127.0.0.1:0" }
session:
  secret: ${SECRET}
  store: { redis: { url: "redis://127.0.0.1:${relay.port}", prefix: "${uniqueRedisPrefix()}" } }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`);
}

test('a gateway whose Redis is not reachable yet listens only once it is, and is ready when it does', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const redis = new URL(REDIS_URL);
  const relay = await startTcpRelay(redis.hostname, Number(redis.port || 6379));
  t.after(() => relay.close());
  await relay.cut();
  const proc = runGatehouse(['serve', '--config', configFor(relay)]);
  t.after(() => proc.stop());
  await proc.waitForLog((line) => line.event === 'store.unavailable', 20_000);
  // Well within the wait: still not listening while Redis cannot be reached.
  const noStartYet = await proc.waitForLog((line) => line.event === 'gateway.started', 1_000).then(
    () => 'started',
    () => 'waiting',
  );
  assert.equal(noStartYet, 'waiting', 'no gateway.started while the store cannot answer');

  await relay.restore();
  const started = await proc.waitForLog((line) => line.event === 'gateway.started', 20_000);
  const ready = await request(started.admin_port as number, { path: '/readyz' });
  assert.equal(ready.status, 200, `ready as soon as it listens: ${ready.text()}`);
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});

test('a gateway whose Redis stays down starts anyway after the wait, and reports not-ready', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const redis = new URL(REDIS_URL);
  const relay = await startTcpRelay(redis.hostname, Number(redis.port || 6379));
  t.after(() => relay.close());
  await relay.cut();
  const proc = runGatehouse(['serve', '--config', configFor(relay)]);
  t.after(() => proc.stop());
  const started = await proc.waitForLog((line) => line.event === 'gateway.started', 30_000);
  const ready = await request(started.admin_port as number, { path: '/readyz' });
  assert.equal(ready.status, 503);
  assert.match(ready.text(), /"store":"unreachable"/);
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});

test('SIGTERM while it waits for its store: exit 0 at once', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const redis = new URL(REDIS_URL);
  const relay = await startTcpRelay(redis.hostname, Number(redis.port || 6379));
  t.after(() => relay.close());
  await relay.cut();
  const proc = runGatehouse(['serve', '--config', configFor(relay)]);
  t.after(() => proc.stop());
  await proc.waitForLog((line) => line.event === 'store.unavailable', 20_000);
  const signalledAt = Date.now();
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
  assert.ok(Date.now() - signalledAt < 2_000, `exited ${Date.now() - signalledAt} ms after SIGTERM`);
  assert.ok(!proc.logs.some((line) => line.event === 'gateway.started'), 'it never listened');
});
