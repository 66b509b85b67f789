/**
 * The KeyValueStore contract as tests, run against every backend (memory with a fake clock,
 * real Redis with real time). The sign-in rules are built on these guarantees, so a backend
 * that passes this suite can be swapped in without re-testing them.
 *
 * Timing: `advance(ms)` moves the memory store's clock, and really waits for Redis, so TTLs
 * are kept short. Checks only assume that at least `ms` passed, never that no more did.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValueStore } from '../../src/store/key-value-store.js';

/** One backend under test, fresh for each test. */
export interface KeyValueStoreFixture {
  readonly store: KeyValueStore;
  /** Lets at least `ms` milliseconds pass for the store. */
  advance(ms: number): Promise<void>;
  /** Removes what the test stored and closes the store. */
  cleanup(): Promise<void>;
}

/** Slack for clocks that are not the test's own (Redis rounds PTTL; timers may fire 1 ms early). */
const CLOCK_SLACK_MS = 5;

/**
 * Registers the contract suite for one backend. `skip` (a reason) lists the suite as skipped,
 * e.g. when Redis is not reachable, so the report shows what did not run.
 */
export function runKeyValueStoreContract(name: string, makeStore: () => Promise<KeyValueStoreFixture>, options: { skip?: string | false } = {}): void {
  describe(`${name} fulfils the KeyValueStore contract`, { skip: options.skip ?? false }, () => {
    /** Runs `body` on a fresh store and always cleans up. */
    function storeTest(title: string, body: (fixture: KeyValueStoreFixture) => Promise<void>): void {
      test(title, async () => {
        const fixture = await makeStore();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup();
        }
      });
    }

    storeTest('get returns undefined for a key that was never set', async ({ store }) => {
      assert.equal(await store.get('never-set'), undefined);
    });

    storeTest('set stores a value that get returns byte for byte', async ({ store }) => {
      const value = JSON.stringify({ email: 'zoë@example.com', note: 'ü "quoted" \n newline', n: 1 });
      await store.set('value', value, 10_000);
      assert.equal(await store.get('value'), value);
    });

    storeTest('set replaces both the previous value and its TTL', async ({ store, advance }) => {
      await store.set('replaced', 'first', 60_000);
      await store.set('replaced', 'second', 100);
      assert.equal(await store.get('replaced'), 'second');
      await advance(150);
      assert.equal(await store.get('replaced'), undefined);
    });

    storeTest('keys are independent of each other', async ({ store }) => {
      await store.set('a', '1', 10_000);
      await store.set('ab', '2', 10_000);
      assert.equal(await store.get('a'), '1');
      assert.equal(await store.get('ab'), '2');
      assert.equal(await store.get('b'), undefined);
    });

    storeTest('a value is there before its TTL and gone after it', async ({ store, advance }) => {
      await store.set('short', 'v', 400);
      await advance(100);
      assert.equal(await store.get('short'), 'v');
      await advance(350);
      assert.equal(await store.get('short'), undefined);
      assert.equal(await store.ttl('short'), undefined);
    });

    storeTest('writes without a positive TTL are refused, because nothing may live forever', async ({ store }) => {
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(store.set('no-ttl', 'v', ttl), RangeError);
        await assert.rejects(store.add('no-ttl', 'v', ttl), RangeError);
        await assert.rejects(store.increment('no-ttl', ttl), RangeError);
      }
      assert.equal(await store.get('no-ttl'), undefined);
    });

    storeTest('add stores only when the key is absent and never overwrites', async ({ store }) => {
      assert.equal(await store.add('nx', 'first', 10_000), true);
      assert.equal(await store.add('nx', 'second', 10_000), false);
      assert.equal(await store.get('nx'), 'first');
    });

    storeTest('add stores again once the previous value has expired', async ({ store, advance }) => {
      assert.equal(await store.add('cooldown', '1', 100), true);
      await advance(150);
      assert.equal(await store.add('cooldown', '2', 10_000), true);
      assert.equal(await store.get('cooldown'), '2');
    });

    storeTest('of parallel adds on one key exactly one wins', async ({ store }) => {
      const results = await Promise.all(Array.from({ length: 50 }, (_, index) => store.add('race-nx', String(index), 10_000)));
      assert.equal(results.filter(Boolean).length, 1);
    });

    storeTest('delete removes a key and tells whether something was there', async ({ store }) => {
      await store.set('doomed', 'v', 10_000);
      assert.equal(await store.delete('doomed'), true);
      assert.equal(await store.get('doomed'), undefined);
      assert.equal(await store.delete('doomed'), false);
      assert.equal(await store.delete('never-set'), false);
    });

    storeTest('delete of an expired key reports nothing removed', async ({ store, advance }) => {
      await store.set('expired', 'v', 100);
      await advance(150);
      assert.equal(await store.delete('expired'), false);
    });

    storeTest('replace writes only over a key that exists, with the new TTL', async ({ store, advance }) => {
      assert.equal(await store.replace('absent', 'x', 10_000), false);
      assert.equal(await store.get('absent'), undefined, 'replace never creates a key');
      await store.set('present', 'old', 60_000);
      assert.equal(await store.replace('present', 'new', 100), true);
      assert.equal(await store.get('present'), 'new');
      await advance(150);
      assert.equal(await store.get('present'), undefined);
      assert.equal(await store.replace('present', 'again', 10_000), false, 'an expired key stays gone');
    });

    storeTest('replace after delete writes nothing back (a revoked record stays revoked)', async ({ store }) => {
      await store.set('record', 'alive', 60_000);
      await store.delete('record');
      assert.equal(await store.replace('record', 'alive again', 60_000), false);
      assert.equal(await store.get('record'), undefined);
    });

    storeTest('decrement takes one back from a counter, keeps its window, and creates nothing', async ({ store, advance }) => {
      await store.decrement('no-counter');
      assert.equal(await store.get('no-counter'), undefined);
      await store.increment('counter', 200);
      await store.increment('counter', 200);
      await store.decrement('counter');
      assert.equal(await store.get('counter'), '1');
      assert.equal((await store.increment('counter', 60_000)).count, 2);
      await advance(250);
      assert.equal(await store.get('counter'), undefined, 'the window was kept');
    });

    storeTest('of many concurrent replaces and a delete, the delete is never undone by a later replace', async ({ store }) => {
      await store.set('raced', 'v0', 60_000);
      const writes = Array.from({ length: 20 }, (_, i) => store.replace('raced', `v${i + 1}`, 60_000));
      await store.delete('raced');
      await Promise.all(writes);
      const after = await Promise.all(Array.from({ length: 5 }, () => store.replace('raced', 'late', 60_000)));
      assert.deepEqual(after, [false, false, false, false, false]);
      assert.equal(await store.get('raced'), undefined);
    });

    storeTest('consume returns the value once and then undefined', async ({ store }) => {
      await store.set('code', 'secret-hash', 10_000);
      assert.equal(await store.consume('code'), 'secret-hash');
      assert.equal(await store.consume('code'), undefined);
      assert.equal(await store.get('code'), undefined);
    });

    storeTest('consume returns undefined for absent and expired keys', async ({ store, advance }) => {
      assert.equal(await store.consume('never-set'), undefined);
      await store.set('stale-code', 'v', 100);
      await advance(150);
      assert.equal(await store.consume('stale-code'), undefined);
    });

    storeTest('of 100 parallel consume calls exactly one gets the value', async ({ store }) => {
      await store.set('single-use', 'the-code', 10_000);
      const results = await Promise.all(Array.from({ length: 100 }, () => store.consume('single-use')));
      const winners = results.filter((result) => result !== undefined);
      assert.deepEqual(winners, ['the-code']);
    });

    storeTest('increment counts up from one within a window', async ({ store }) => {
      const first = await store.increment('counter', 10_000);
      assert.equal(first.count, 1);
      assert.ok(first.resetInMs > 0 && first.resetInMs <= 10_000, `resetInMs ${first.resetInMs}`);
      assert.equal((await store.increment('counter', 10_000)).count, 2);
      assert.equal((await store.increment('counter', 10_000)).count, 3);
    });

    storeTest('increment adds a given amount, and refuses one that is not a positive integer', async ({ store }) => {
      assert.equal((await store.increment('batched', 10_000, 40)).count, 40);
      assert.equal((await store.increment('batched', 10_000, 2)).count, 42);
      assert.equal((await store.increment('batched', 10_000)).count, 43);
      await assert.rejects(store.increment('batched', 10_000, 0), RangeError);
      await assert.rejects(store.increment('batched', 10_000, 1.5), RangeError);
    });

    storeTest('a counter reads back with get as its decimal count', async ({ store }) => {
      await store.increment('failures', 10_000);
      await store.increment('failures', 10_000);
      assert.equal(await store.get('failures'), '2');
    });

    storeTest('increment keeps the first window instead of extending it', async ({ store, advance }) => {
      await store.increment('window', 300);
      await advance(100);
      const second = await store.increment('window', 300);
      assert.equal(second.count, 2);
      assert.ok(second.resetInMs > 0 && second.resetInMs <= 200 + CLOCK_SLACK_MS, `resetInMs ${second.resetInMs} should be what is left of the first window`);
      const ttl = await store.ttl('window');
      assert.ok(ttl !== undefined && ttl <= 200 + CLOCK_SLACK_MS, `ttl ${ttl}`);
      await advance(250);
      const afterWindow = await store.increment('window', 300);
      assert.equal(afterWindow.count, 1, 'a new window starts from one');
      assert.ok(afterWindow.resetInMs > 200, `resetInMs ${afterWindow.resetInMs} should be a fresh window`);
    });

    storeTest('50 parallel increments return the counts 1 to 50 exactly once each', async ({ store }) => {
      const results = await Promise.all(Array.from({ length: 50 }, () => store.increment('parallel', 10_000)));
      const counts = results.map((result) => result.count).sort((a, b) => a - b);
      assert.deepEqual(counts, Array.from({ length: 50 }, (_, index) => index + 1));
    });

    storeTest('ttl is undefined for an absent key and counts down for a present one', async ({ store, advance }) => {
      assert.equal(await store.ttl('never-set'), undefined);
      await store.set('timed', 'v', 1_000);
      const fresh = await store.ttl('timed');
      assert.ok(fresh !== undefined && fresh > 0 && fresh <= 1_000, `ttl ${fresh}`);
      await advance(400);
      const later = await store.ttl('timed');
      assert.ok(later !== undefined && later > 0 && later <= 600 + CLOCK_SLACK_MS, `ttl ${later}`);
    });

    storeTest('setMembers is empty for a set that was never written', async ({ store }) => {
      assert.deepEqual(await store.setMembers('never-set'), []);
    });

    storeTest('setAdd adds members once each and setMembers returns them all', async ({ store }) => {
      await store.setAdd('index', 'a', 10_000);
      await store.setAdd('index', 'b', 10_000);
      await store.setAdd('index', 'a', 10_000);
      await store.setAdd('index', 'zoë:ü "x"', 10_000);
      assert.deepEqual((await store.setMembers('index')).sort(), ['a', 'b', 'zoë:ü "x"']);
    });

    storeTest('setRemove removes one member and leaves the others', async ({ store }) => {
      await store.setAdd('index', 'a', 10_000);
      await store.setAdd('index', 'b', 10_000);
      await store.setRemove('index', 'a');
      await store.setRemove('index', 'not-a-member');
      await store.setRemove('never-set', 'a');
      assert.deepEqual(await store.setMembers('index'), ['b']);
    });

    storeTest('a set emptied by setRemove no longer exists', async ({ store }) => {
      await store.setAdd('index', 'a', 10_000);
      await store.setRemove('index', 'a');
      assert.deepEqual(await store.setMembers('index'), []);
      assert.equal(await store.ttl('index'), undefined);
    });

    storeTest('a set expires with its TTL', async ({ store, advance }) => {
      await store.setAdd('short-index', 'a', 200);
      const ttl = await store.ttl('short-index');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 200, `ttl ${ttl}`);
      await advance(250);
      assert.deepEqual(await store.setMembers('short-index'), []);
    });

    storeTest('setAdd extends a shorter TTL but never shortens a longer one', async ({ store, advance }) => {
      await store.setAdd('extended', 'a', 200);
      await store.setAdd('extended', 'b', 10_000);
      const extended = await store.ttl('extended');
      assert.ok(extended !== undefined && extended > 5_000, `ttl ${extended} should have been extended`);
      await store.setAdd('extended', 'c', 100);
      const kept = await store.ttl('extended');
      assert.ok(kept !== undefined && kept > 5_000, `ttl ${kept} should not have been shortened`);
      await advance(250);
      assert.deepEqual((await store.setMembers('extended')).sort(), ['a', 'b', 'c']);
    });

    storeTest('setRemove keeps the TTL of the set', async ({ store }) => {
      await store.setAdd('timed-index', 'a', 1_000);
      await store.setAdd('timed-index', 'b', 1_000);
      await store.setRemove('timed-index', 'a');
      const ttl = await store.ttl('timed-index');
      assert.ok(ttl !== undefined && ttl > 0 && ttl <= 1_000, `ttl ${ttl}`);
    });

    storeTest('setAdd without a positive TTL is refused', async ({ store }) => {
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(store.setAdd('no-ttl-set', 'a', ttl), RangeError);
      }
      assert.deepEqual(await store.setMembers('no-ttl-set'), []);
    });

    storeTest('of 50 parallel setAdd calls every member arrives', async ({ store }) => {
      await Promise.all(Array.from({ length: 50 }, (_, index) => store.setAdd('parallel-set', `m${index}`, 10_000)));
      assert.equal((await store.setMembers('parallel-set')).length, 50);
    });

    storeTest('delete removes a set like any other key', async ({ store }) => {
      await store.setAdd('doomed-set', 'a', 10_000);
      assert.equal(await store.delete('doomed-set'), true);
      assert.deepEqual(await store.setMembers('doomed-set'), []);
    });

    storeTest('ping resolves when the store is reachable', async ({ store }) => {
      await store.ping();
    });
  });
}
