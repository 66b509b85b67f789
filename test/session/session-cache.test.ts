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

describe('session cache', () => {
  test('a fresh entry is served without a store read; after maxAgeMs the store is asked again', async () => {
    const env = counter();
    const cache = createSessionCache(env.load, { maxAgeMs: 1000, now: env.now });
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
});
