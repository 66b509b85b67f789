import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { StoreUnavailableError } from '../../src/store/key-value-store.js';
import { createRedisStore, type RedisStoreHandle } from '../../src/store/redis-store.js';
import { describeRedisUrl } from '../../src/store/redis-connection.js';
import { runKeyValueStoreContract } from './key-value-store.contract.js';
import {
  deleteKeysWithPrefix,
  readRawKey,
  redisSkipReason,
  redisUrl,
  sleep,
  startRedisProxy,
  uniqueTestPrefix,
  waitUntil,
} from './redis-test-support.js';

/** Nothing listens on port 1, so connections are refused at once. */
const CLOSED_PORT_URL = 'redis://127.0.0.1:1';

/** A pino logger whose lines the test can read. */
function createCapturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = pino({ level: 'debug' }, destination);
  const text = (): string => chunks.join('');
  const lines = (): Array<Record<string, unknown>> =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, text };
}

const eventsIn = (lines: Array<Record<string, unknown>>, event: string): number => lines.filter((line) => line.event === event).length;

/** Every operation of the contract, each called once. */
function everyOperation(store: RedisStoreHandle): Array<[string, () => Promise<unknown>]> {
  return [
    ['get', () => store.get('k')],
    ['set', () => store.set('k', 'v', 1_000)],
    ['add', () => store.add('k', 'v', 1_000)],
    ['delete', () => store.delete('k')],
    ['consume', () => store.consume('k')],
    ['increment', () => store.increment('k', 1_000)],
    ['ttl', () => store.ttl('k')],
    ['setAdd', () => store.setAdd('k', 'm', 1_000)],
    ['setRemove', () => store.setRemove('k', 'm')],
    ['setMembers', () => store.setMembers('k')],
    ['ping', () => store.ping()],
  ];
}

describe('the Redis store without a reachable Redis', () => {
  test('creating it does not throw and does not wait for Redis', async () => {
    const started = Date.now();
    const store = createRedisStore({ url: CLOSED_PORT_URL, prefix: uniqueTestPrefix() });
    try {
      // Waiting for Redis would never end here (it retries forever); the bound is for a slow CI.
      assert.ok(Date.now() - started < 1_000, `creation took ${Date.now() - started} ms`);
      assert.equal(store.isReady(), false);
    } finally {
      await store.close();
    }
  });

  test('every operation rejects with StoreUnavailableError in well under a second', async () => {
    const store = createRedisStore({ url: CLOSED_PORT_URL, prefix: uniqueTestPrefix() });
    try {
      await sleep(50); // let the first connection attempt fail, as in a running gateway
      for (const [name, operation] of everyOperation(store)) {
        const started = Date.now();
        await assert.rejects(operation(), StoreUnavailableError, `${name} should reject`);
        assert.ok(Date.now() - started < 1_000, `${name} took ${Date.now() - started} ms`);
      }
    } finally {
      await store.close();
    }
  });

  test('logs store.unavailable once however often it retries, and never the password', async () => {
    const { logger, lines, text } = createCapturingLogger();
    const store = createRedisStore({ url: 'redis://gatehouse:hunter2-sekrit@127.0.0.1:1/2', prefix: uniqueTestPrefix(), logger });
    try {
      await sleep(700); // several reconnect attempts (100, 200, 300 ms)
      assert.equal(eventsIn(lines(), 'store.unavailable'), 1);
      assert.equal(eventsIn(lines(), 'store.recovered'), 0);
      assert.ok(!text().includes('hunter2-sekrit'), 'the password must not be logged');
      assert.ok(text().includes('redis://127.0.0.1:1/2'), 'the log names where Redis was expected');
    } finally {
      await store.close();
    }
  });

  test('an unusable URL is a configuration error that does not echo the password', () => {
    assert.throws(
      () => createRedisStore({ url: 'http://user:hunter2-sekrit@example.com', prefix: 'p:' }),
      (error: unknown) => error instanceof Error && /session\.store\.redis\.url/.test(error.message) && !error.message.includes('hunter2-sekrit'),
    );
  });

  test('describeRedisUrl keeps host, port and database but drops credentials', () => {
    assert.equal(describeRedisUrl('redis://user:pw@redis.internal:6380/3'), 'redis://redis.internal:6380/3');
    assert.equal(describeRedisUrl('rediss://:pw@redis.internal'), 'rediss://redis.internal');
    assert.equal(describeRedisUrl('not a url'), '(invalid Redis URL)');
  });
});

const skip = await redisSkipReason('the Redis store tests');
const runPrefix = uniqueTestPrefix();
let fixtureCount = 0;

/** A store on the real Redis under a prefix of its own, once connected. */
async function connectedStore(options: { url?: string; logger?: Logger; commandTimeoutMs?: number } = {}): Promise<RedisStoreHandle> {
  fixtureCount += 1;
  const store = createRedisStore({ url: options.url ?? redisUrl, prefix: `${runPrefix}${fixtureCount}:`, logger: options.logger, commandTimeoutMs: options.commandTimeoutMs });
  await waitUntil(() => store.isReady(), 'the store has connected');
  return store;
}

after(async () => {
  if (!skip) await deleteKeysWithPrefix(runPrefix);
});

runKeyValueStoreContract(
  'the Redis store',
  async () => {
    const store = await connectedStore();
    return {
      store,
      // Real time: Redis expires keys by its own clock.
      advance: (ms) => sleep(ms),
      cleanup: async () => {
        await deleteKeysWithPrefix(store.prefix);
        await store.close();
      },
    };
  },
  { skip },
);

describe('the Redis store on a real Redis', { skip }, () => {
  test('keeps every key under its prefix', async () => {
    const store = await connectedStore();
    try {
      await store.set('otp:flow:abc', 'v', 10_000);
      const raw = await readRawKey(`${store.prefix}otp:flow:abc`);
      assert.equal(raw.value, 'v');
      assert.ok(raw.pttl > 0 && raw.pttl <= 10_000);
      assert.equal((await readRawKey('otp:flow:abc')).value, null);
    } finally {
      await store.close();
    }
  });

  test('an operation on a Redis that stops answering fails with StoreUnavailableError after the timeout', async () => {
    const proxy = await startRedisProxy();
    const { logger, lines } = createCapturingLogger();
    const store = await connectedStore({ url: proxy.url, logger, commandTimeoutMs: 200 });
    try {
      await store.set('k', 'v', 10_000);
      proxy.silence();
      const started = Date.now();
      await assert.rejects(store.get('k'), StoreUnavailableError);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 190 && elapsed < 1_000, `took ${elapsed} ms`);
      assert.equal(eventsIn(lines(), 'store.unavailable'), 1);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a stall of our own event loop longer than the timeout does not fail a command Redis answered', async () => {
    const { logger, lines } = createCapturingLogger();
    const store = await connectedStore({ logger, commandTimeoutMs: 100 });
    try {
      await store.set('k', 'v', 10_000);
      const pending = store.get('k');
      // A long GC pause or a starved CPU: the reply arrives while the loop is blocked, and the
      // timer is due by the time the loop runs again.
      const blockedUntil = Date.now() + 300;
      while (Date.now() < blockedUntil);
      assert.equal(await pending, 'v');
      assert.equal(eventsIn(lines(), 'store.unavailable'), 0);
    } finally {
      await store.close();
    }
  });

  test('recovers by itself when Redis comes back, logging each transition once', async () => {
    const proxy = await startRedisProxy();
    const { logger, lines } = createCapturingLogger();
    const store = await connectedStore({ url: proxy.url, logger });
    try {
      await store.set('survivor', 'v', 60_000);

      await proxy.stop();
      await waitUntil(() => !store.isReady(), 'the store notices Redis is gone');
      await assert.rejects(store.get('survivor'), StoreUnavailableError);
      await sleep(400); // a few failed reconnects
      assert.equal(eventsIn(lines(), 'store.unavailable'), 1);

      await proxy.start();
      await waitUntil(() => store.isReady(), 'the store reconnects', 5_000);
      assert.equal(await store.get('survivor'), 'v');
      assert.equal(eventsIn(lines(), 'store.recovered'), 1);
      assert.equal(eventsIn(lines(), 'store.unavailable'), 1);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('a store created while Redis is down starts working when Redis appears', async () => {
    const proxy = await startRedisProxy();
    await proxy.stop();
    const { logger, lines } = createCapturingLogger();
    fixtureCount += 1;
    const store = createRedisStore({ url: proxy.url, prefix: `${runPrefix}${fixtureCount}:`, logger });
    try {
      await assert.rejects(store.get('k'), StoreUnavailableError);
      await proxy.start();
      await waitUntil(() => store.isReady(), 'the store connects', 5_000);
      await store.set('k', 'v', 10_000);
      assert.equal(await store.get('k'), 'v');
      assert.equal(eventsIn(lines(), 'store.unavailable'), 1);
      assert.equal(eventsIn(lines(), 'store.recovered'), 1);
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  test('increment gives a counter that somehow lost its TTL a window again', async () => {
    const store = await connectedStore();
    try {
      await store.commands.set(`${store.prefix}orphan`, '7');
      const result = await store.increment('orphan', 5_000);
      assert.equal(result.count, 8);
      assert.ok(result.resetInMs > 0 && result.resetInMs <= 5_000);
    } finally {
      await store.close();
    }
  });

  test('close resolves and later operations reject with StoreUnavailableError', async () => {
    const store = await connectedStore();
    await store.close();
    await store.close();
    await assert.rejects(store.get('k'), StoreUnavailableError);
  });
});
