/**
 * The passkey record on both stores (memory and real Redis): saved, read, listed per address
 * and for everyone, used (counter and time, only while it exists), removed by its owner only,
 * all of an address at once; stale index entries are skipped and pruned.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { createPasskeyStore, isCredentialId, PASSKEY_RETENTION_MS, type Passkey } from '../../src/passkeys/passkey-store.js';
import { deleteKeysWithPrefix, readRawKey, redisSkipReason, redisUrl, uniqueTestPrefix, waitUntil } from '../store/redis-test-support.js';

function passkey(id: string, email: string, createdAt: number): Passkey {
  return { id, email, publicKey: 'pQECAyYgASFYIA', counter: 0, transports: ['internal'], rpId: 'wiki.example.com', name: `key ${id.slice(0, 4)}`, createdAt, lastUsedAt: undefined };
}

const ANN_1 = 'AAAAAAAAAAAAAAAAAAAAAA';
const ANN_2 = 'BBBBBBBBBBBBBBBBBBBBBB';
const BOB_1 = 'CCCCCCCCCCCCCCCCCCCCCC';

function suite(name: string, makeStore: () => Promise<{ kv: KeyValueStore; cleanup(): Promise<void> }>, skip?: string | false): void {
  describe(`the passkey record on ${name}`, { skip }, () => {
    const storeTest = (title: string, body: (kv: KeyValueStore) => Promise<void>) =>
      test(title, async () => {
        const { kv, cleanup } = await makeStore();
        try {
          await body(kv);
        } finally {
          await cleanup();
        }
      });

    storeTest('a saved passkey reads back whole, and lists under its address (newest first) and for everyone', async (kv) => {
      const store = createPasskeyStore(kv);
      await store.save(passkey(ANN_1, 'ann@example.com', 1_000));
      await store.save(passkey(ANN_2, 'ann@example.com', 2_000));
      await store.save(passkey(BOB_1, 'bob@example.com', 3_000));
      assert.deepEqual(await store.get(ANN_1), passkey(ANN_1, 'ann@example.com', 1_000));
      assert.deepEqual((await store.list({ email: 'ann@example.com' })).map((p) => p.id), [ANN_2, ANN_1]);
      assert.deepEqual((await store.list({ email: 'ANN@Example.com ' })).map((p) => p.id), [ANN_2, ANN_1], 'addresses compare case-insensitively');
      assert.deepEqual((await store.list()).map((p) => p.id), [BOB_1, ANN_2, ANN_1]);
    });

    storeTest('a use records the counter and the time, and never brings a removed passkey back', async (kv) => {
      const store = createPasskeyStore(kv);
      const ann = passkey(ANN_1, 'ann@example.com', 1_000);
      await store.save(ann);
      await store.recordUse(ann, 7, 5_000);
      assert.deepEqual(await store.get(ANN_1), { ...ann, counter: 7, lastUsedAt: 5_000 });
      assert.equal(await store.remove(ANN_1), true);
      // A sign-in that read the passkey before it was removed finishes afterwards.
      await store.recordUse(ann, 8, 6_000);
      assert.equal(await store.get(ANN_1), undefined);
      assert.deepEqual(await store.list({ email: 'ann@example.com' }), []);
    });

    storeTest('a guest removes only their own passkey; ops remove all of an address', async (kv) => {
      const store = createPasskeyStore(kv);
      await store.save(passkey(ANN_1, 'ann@example.com', 1_000));
      await store.save(passkey(ANN_2, 'ann@example.com', 2_000));
      await store.save(passkey(BOB_1, 'bob@example.com', 3_000));
      assert.equal(await store.remove(BOB_1, 'ann@example.com'), false, "ann cannot remove bob's passkey");
      assert.ok(await store.get(BOB_1));
      assert.equal(await store.removeAllOf('ann@example.com'), 2);
      assert.deepEqual((await store.list()).map((p) => p.id), [BOB_1]);
      assert.equal(await store.remove(ANN_1), false, 'already gone');
    });

    storeTest('an index entry whose passkey is gone is skipped and pruned', async (kv) => {
      const store = createPasskeyStore(kv);
      await store.save(passkey(ANN_1, 'ann@example.com', 1_000));
      await kv.delete(`passkey:${ANN_1}`);
      assert.deepEqual(await store.list({ email: 'ann@example.com' }), []);
      assert.deepEqual(await kv.setMembers('passkeys:email:ann@example.com'), []);
    });

    storeTest('a record that is not ours, or an id that cannot be one, reads as no passkey', async (kv) => {
      const store = createPasskeyStore(kv);
      await kv.set(`passkey:${ANN_1}`, '{"v":2}', 60_000);
      assert.equal(await store.get(ANN_1), undefined);
      await kv.set(`passkey:${ANN_2}`, 'not json', 60_000);
      assert.equal(await store.get(ANN_2), undefined);
      assert.equal(await store.get('../../etc'), undefined);
      assert.equal(isCredentialId('short'), false);
      assert.equal(isCredentialId('a'.repeat(1401)), false);
    });
  });
}

suite('the memory store', async () => {
  const kv = createMemoryStore();
  return { kv, cleanup: () => kv.close() };
});

const skip = await redisSkipReason('the passkey record Redis tests');
const runPrefix = uniqueTestPrefix();
let fixtures = 0;
suite(
  'Redis',
  async () => {
    const prefix = `${runPrefix}${(fixtures += 1)}:`;
    const kv = createRedisStore({ url: redisUrl, prefix });
    await waitUntil(() => kv.isReady(), 'the store has connected');
    return {
      kv,
      cleanup: async () => {
        await kv.close();
        await deleteKeysWithPrefix(prefix);
      },
    };
  },
  skip,
);

describe('the passkey record in Redis', { skip }, () => {
  test('lives PASSKEY_RETENTION_MS from its last use', async () => {
    const prefix = `${runPrefix}ttl:`;
    const kv = createRedisStore({ url: redisUrl, prefix });
    try {
      await waitUntil(() => kv.isReady(), 'the store has connected');
      await createPasskeyStore(kv).save(passkey(ANN_1, 'ann@example.com', Date.now()));
      const raw = await readRawKey(`${prefix}passkey:${ANN_1}`);
      assert.equal(JSON.parse(raw.value!).email, 'ann@example.com');
      assert.ok(raw.pttl > PASSKEY_RETENTION_MS - 60_000 && raw.pttl <= PASSKEY_RETENTION_MS);
    } finally {
      await kv.close();
      await deleteKeysWithPrefix(prefix);
    }
  });
});
