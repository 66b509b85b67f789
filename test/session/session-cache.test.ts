import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCache } from '../../src/session/session-cache.js';
import type { SessionRecord } from '../../src/session/sessions.js';

function record(email: string): SessionRecord {
  return { email, signedInAt: 0, expiresAt: 3_600_000, lastSeenAt: 0, amr: ['otp'] };
}

function counter() {
  let now = 0;
  const loads: string[] = [];
  const records = new Map<string, SessionRecord>([['a', record('a@example.com')]]);
  return {
    advance: (ms: number) => (now += ms),
    now: () => now,
    loads,
    records,
    load: async (id: string) => {
      loads.push(id);
      return records.get(id);
    },
  };
}

/** A store whose reads wait until the test answers them, one by one. */
function slowStore() {
  let now = 0;
  const pending: Array<{ id: string; answer: (record: SessionRecord | undefined) => void; fail: (error: Error) => void }> = [];
  return {
    advance: (ms: number) => (now += ms),
    now: () => now,
    pending,
    load: (id: string) => new Promise<SessionRecord | undefined>((answer, fail) => pending.push({ id, answer, fail })),
  };
}

/** A cache of one second, re-read ahead after 750 ms, holding session `a` read at time 0. */
async function cachedOnce() {
  const store = slowStore();
  const cache = createSessionCache(store.load, { maxAgeMs: 1000, refreshAfterMs: 750, now: store.now });
  const first = cache.read('a');
  store.pending.shift()!.answer(record('a@example.com'));
  await first;
  return { store, cache };
}

/** The same at 800 ms, the entry answered from the cache with its read-ahead out. */
async function lateInItsLife() {
  const { store, cache } = await cachedOnce();
  store.advance(800);
  assert.ok(cache.peek('a'));
  assert.equal(store.pending.length, 1);
  return { store, cache };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('session cache', () => {
  test('a fresh entry is served without a store read; after maxAgeMs the store is asked again', async () => {
    const env = counter();
    // No re-read ahead of time here: that is the next tests' subject.
    const cache = createSessionCache(env.load, { maxAgeMs: 1000, refreshAfterMs: 1000, now: env.now });
    await cache.read('a');
    env.advance(999);
    await cache.read('a');
    assert.deepEqual(env.loads, ['a']);
    env.advance(1);
    env.records.delete('a');
    assert.equal(await cache.read('a'), undefined, 'a session deleted in the store is gone after one second');
    assert.deepEqual(env.loads, ['a', 'a']);
  });

  test('an invalidated entry is read from the store on the next request', async () => {
    const env = counter();
    const cache = createSessionCache(env.load, { now: env.now });
    await cache.read('a');
    cache.invalidate('a');
    env.records.delete('a');
    assert.equal(await cache.read('a'), undefined);
  });

  test('concurrent reads of one id share one store read, and misses are not cached', async () => {
    const env = counter();
    const cache = createSessionCache(env.load, { now: env.now });
    await Promise.all([cache.read('a'), cache.read('a'), cache.read('a')]);
    assert.deepEqual(env.loads, ['a']);
    await cache.read('missing');
    await cache.read('missing');
    assert.deepEqual(env.loads, ['a', 'missing', 'missing']);
  });

  test('the cache holds at most maxEntries sessions', async () => {
    const env = counter();
    for (let i = 0; i < 10; i += 1) env.records.set(`s${i}`, record(`s${i}@example.com`));
    const cache = createSessionCache(env.load, { maxEntries: 3, now: env.now });
    for (let i = 0; i < 10; i += 1) await cache.read(`s${i}`);
    env.loads.length = 0;
    await cache.read('s9');
    await cache.read('s0');
    assert.deepEqual(env.loads, ['s0'], 'the oldest were evicted, the newest kept');
  });

  test('a store failure is passed on and not cached', async () => {
    let fail = true;
    const cache = createSessionCache(async () => {
      if (fail) throw new Error('down');
      return record('a@example.com');
    });
    await assert.rejects(cache.read('a'), /down/);
    fail = false;
    assert.deepEqual(await cache.read('a'), record('a@example.com'));
  });

  test('a busy guest never waits for the store: late in its life the entry answers at once and one read starts behind it', async () => {
    const { store, cache } = await cachedOnce();
    store.advance(700);
    assert.equal(cache.peek('a')?.email, 'a@example.com');
    assert.equal(store.pending.length, 0, 'early in its life the entry asks nothing');
    store.advance(100);
    assert.equal(cache.peek('a')?.email, 'a@example.com', 'answered from the cache, not after a store read');
    assert.equal((await cache.read('a'))?.email, 'a@example.com');
    assert.equal(store.pending.length, 1, 'one read behind it, however many requests');
    store.pending.shift()!.answer({ ...record('a@example.com'), lastSeenAt: 42 });
    await settle();
    store.advance(400);
    // 1,200 ms after the first read, 400 after the second began: fresh, without a wait.
    assert.equal(cache.peek('a')?.lastSeenAt, 42, 'the record the background read brought is used');
    assert.equal(store.pending.length, 0);
  });

  test('a session revoked in the store stops at once when the read behind the entry returns', async () => {
    const { store, cache } = await lateInItsLife();
    store.pending.shift()!.answer(undefined);
    await settle();
    assert.equal(cache.peek('a'), undefined);
    assert.equal(await Promise.race([cache.read('a'), settle().then(() => 'waits')]), 'waits', 'the next request asks the store');
  });

  test('a read behind the entry that fails keeps it to its max age, and then the store is asked again', async () => {
    const { store, cache } = await lateInItsLife();
    store.pending.shift()!.fail(new Error('down'));
    await settle();
    store.advance(150);
    assert.ok(cache.peek('a'), 'still within its max age');
    assert.equal(store.pending.length, 1, 'and the next request late in its life tries the store again');
    store.pending.shift()!.fail(new Error('down'));
    await settle();
    store.advance(50);
    assert.equal(cache.peek('a'), undefined, 'never past its max age: a revocation elsewhere is seen within it');
    const late = cache.read('a');
    store.pending.shift()!.fail(new Error('down'));
    await assert.rejects(late, /down/);
  });

  test('an invalidate wins over a read under way: the record that read brings back is not kept', async () => {
    const { store, cache } = await lateInItsLife();
    // This process ends the session (logout) while the read behind the entry is out.
    cache.invalidate('a');
    store.pending.shift()!.answer(record('a@example.com'));
    await settle();
    assert.equal(cache.peek('a'), undefined, 'a logged-out session is not brought back by the read that was out');
    void cache.read('a');
    assert.equal(store.pending.length, 1, 'the next request asks the store');
  });
});
