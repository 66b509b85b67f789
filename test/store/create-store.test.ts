import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyValueStore } from '../../src/store/create-store.js';
import type { RedisStoreHandle } from '../../src/store/redis-store.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';

function isRedisStoreHandle(store: KeyValueStore | RedisStoreHandle): store is RedisStoreHandle {
  return 'commands' in store;
}
import type { GatewayConfig } from '../../src/config/schema.js';

describe('createKeyValueStore', () => {
  test('builds the memory store for "memory"', async () => {
    const store = createKeyValueStore('memory');
    try {
      assert.equal(isRedisStoreHandle(store), false);
      await store.set('k', 'v', 1_000);
      assert.equal(await store.get('k'), 'v');
    } finally {
      await store.close();
    }
  });

  test('builds the Redis store, with its prefix, for a redis block', async () => {
    const store = createKeyValueStore({ redis: { url: 'redis://127.0.0.1:1', prefix: 'gatehouse:' } });
    try {
      assert.ok(isRedisStoreHandle(store));
      assert.equal(store.prefix, 'gatehouse:');
    } finally {
      await store.close();
    }
  });

  test('refuses an unknown kind instead of falling back to memory', () => {
    for (const config of ['redis', 'sqlite', { memcached: {} }, { redis: { url: 5 } }, null]) {
      assert.throws(() => createKeyValueStore(config as unknown as GatewayConfig['session']['store']), /unknown session store kind/);
    }
  });

  test('the error for an unknown kind does not echo values that may hold a password', () => {
    assert.throws(
      () => createKeyValueStore({ redis: { url: 'redis://:hunter2@host', prefix: 5 } } as unknown as GatewayConfig['session']['store']),
      (error: unknown) => error instanceof Error && !error.message.includes('hunter2'),
    );
  });
});
