import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore, StoreFullError } from '../../src/store/memory-store.js';
import { StoreUnavailableError } from '../../src/store/key-value-store.js';
import { runKeyValueStoreContract } from './key-value-store.contract.js';

/** A clock the test moves by hand, so expiry is tested without sleeping. */
function createManualClock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

runKeyValueStoreContract('the memory store', async () => {
  const clock = createManualClock();
  const store = createMemoryStore({ clock: clock.now });
  return {
    store,
    advance: async (ms) => clock.advance(ms),
    cleanup: () => store.close(),
  };
});

describe('the memory store', () => {
  test('a full store refuses new keys and never evicts a live one; existing keys still update', async () => {
    const store = createMemoryStore({ maxEntries: 3, clock: createManualClock().now });
    try {
      for (const key of ['session', 'counter', 'other']) await store.set(key, '1', 60_000);
      await assert.rejects(store.set('flood', 'x', 60_000), StoreFullError);
      await assert.rejects(store.increment('new-counter', 60_000), StoreUnavailableError, 'callers fail closed on it (503)');
      await assert.rejects(store.add('new-cooldown', '1', 60_000), StoreFullError);
      assert.equal(await store.get('session'), '1', 'nothing was evicted');
      await store.set('session', '2', 60_000);
      assert.equal((await store.increment('counter', 60_000)).count, 2, 'an existing counter counts on');
      assert.equal(await store.replace('other', '3', 60_000), true);
      assert.equal(store.size, 3);
      await store.delete('other');
      await store.set('flood', 'x', 60_000);
      assert.equal(await store.get('flood'), 'x', 'room again once a key is gone');
    } finally {
      await store.close();
    }
  });

  test('a quota bounds the keys of one prefix below the whole store, leaving room for the rest', async () => {
    const store = createMemoryStore({ maxEntries: 10, quotas: [{ prefix: 'otp:', maxEntries: 4 }], clock: createManualClock().now });
    try {
      for (let i = 0; i < 4; i += 1) await store.set(`otp:flow:${i}`, '1', 60_000);
      await assert.rejects(store.set('otp:flow:4', '1', 60_000), StoreFullError);
      for (let i = 0; i < 6; i += 1) await store.set(`sess:${i}`, '1', 60_000);
      assert.equal(store.size, 10);
      await store.consume('otp:flow:0');
      await store.set('otp:flow:5', '1', 60_000);
      await assert.rejects(store.set('otp:flow:6', '1', 60_000), StoreFullError, 'the quota is counted through consume and set');
    } finally {
      await store.close();
    }
  });

  test('a full store drops expired entries before refusing a new one', async () => {
    const clock = createManualClock();
    const store = createMemoryStore({ maxEntries: 3, clock: clock.now });
    try {
      await store.set('old-but-live', '1', 60_000);
      await store.set('short-lived', '1', 100);
      await store.set('live', '1', 60_000);
      clock.advance(200);
      await store.set('new', '1', 60_000);
      assert.equal(await store.get('old-but-live'), '1');
      assert.equal(await store.get('live'), '1');
      assert.equal(await store.get('new'), '1');
      assert.equal(store.size, 3);
    } finally {
      await store.close();
    }
  });

  test('an expired entry leaves memory when it is read', async () => {
    const clock = createManualClock();
    const store = createMemoryStore({ clock: clock.now });
    try {
      await store.set('k', 'v', 100);
      clock.advance(100);
      assert.equal(store.size, 1);
      assert.equal(await store.get('k'), undefined);
      assert.equal(store.size, 0);
    } finally {
      await store.close();
    }
  });

  test('the periodic sweep removes expired entries nobody reads', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const clock = createManualClock();
    const store = createMemoryStore({ clock: clock.now, sweepIntervalMs: 1_000 });
    try {
      await store.set('expires', 'v', 100);
      await store.set('stays', 'v', 60_000);
      clock.advance(200);
      assert.equal(store.size, 2, 'nothing is swept before the interval');
      t.mock.timers.tick(1_000);
      assert.equal(store.size, 1);
      assert.equal(await store.get('stays'), 'v');
    } finally {
      await store.close();
    }
  });

  test('close stops the sweep timer', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const clock = createManualClock();
    const store = createMemoryStore({ clock: clock.now, sweepIntervalMs: 1_000 });
    await store.set('expires', 'v', 100);
    clock.advance(200);
    await store.close();
    t.mock.timers.tick(5_000);
    assert.equal(store.size, 1, 'no sweep ran after close');
  });

  test('the sweep timer does not keep the process alive', async () => {
    const store = createMemoryStore({ sweepIntervalMs: 1_000 });
    try {
      const timers = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout');
      // An unref'd timer is not an active resource; this test would otherwise see one more.
      const storeTwo = createMemoryStore({ sweepIntervalMs: 1_000 });
      assert.equal(process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length, timers.length);
      await storeTwo.close();
    } finally {
      await store.close();
    }
  });

  test('increment refuses a key that holds something other than a count', async () => {
    const store = createMemoryStore({ clock: createManualClock().now });
    try {
      await store.set('not-a-counter', 'hello', 60_000);
      await assert.rejects(store.increment('not-a-counter', 60_000), TypeError);
    } finally {
      await store.close();
    }
  });

  test('invalid bounds are refused at creation', () => {
    assert.throws(() => createMemoryStore({ maxEntries: 0 }), RangeError);
    assert.throws(() => createMemoryStore({ maxEntries: 1.5 }), RangeError);
    assert.throws(() => createMemoryStore({ sweepIntervalMs: 0 }), RangeError);
  });
});

describe('the memory store with sets', () => {
  test('a key holds a string or a set, and using it as the other is a TypeError, as WRONGTYPE in Redis', async () => {
    const store = createMemoryStore({ clock: createManualClock().now });
    try {
      await store.setAdd('a-set', 'm', 60_000);
      await store.set('a-string', 'v', 60_000);
      await assert.rejects(store.get('a-set'), TypeError);
      await assert.rejects(store.consume('a-set'), TypeError);
      await assert.rejects(store.increment('a-set', 1_000), TypeError);
      await assert.rejects(store.setAdd('a-string', 'm', 60_000), TypeError);
      await assert.rejects(store.setMembers('a-string'), TypeError);
      assert.equal(store.size, 2, 'a set counts as one entry towards maxEntries');
    } finally {
      await store.close();
    }
  });
});
