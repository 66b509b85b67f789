/**
 * Shared by the tests that need a real Redis (SPEC section 1): where it is, whether it is
 * up, a key prefix unique to this run, cleanup of that prefix, and a TCP proxy that can cut
 * or silence the connection to simulate Redis going away and coming back.
 *
 * Without a reachable Redis these tests are skipped with a visible notice, except when CI is
 * set: there a missing Redis must fail the run, not quietly test nothing.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { describeRedisUrl } from '../../src/store/redis-connection.js';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `gatehouse-test:<random>:` — keys of this run only, so cleanup never touches anything else. */
export function uniqueTestPrefix(): string {
  return `gatehouse-test:${randomBytes(6).toString('hex')}:`;
}

/** Resolves true when a Redis answers PING at `redisUrl` within a second. */
export async function isRedisReachable(): Promise<boolean> {
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/**
 * The `skip` option for suites that need Redis: false when it is reachable, else the reason.
 * Prints the notice, and under CI registers a failing test instead of skipping silently.
 */
export async function redisSkipReason(suite: string): Promise<string | false> {
  if (await isRedisReachable()) return false;
  const reason = `no Redis reachable at ${describeRedisUrl(redisUrl)} (set REDIS_URL or start Redis)`;
  if (process.env.CI) {
    test(`${suite} can reach Redis, which CI requires`, () => {
      assert.fail(`${reason}; CI is set, so the Redis tests must run`);
    });
  } else {
    console.warn(`NOTICE: skipping ${suite}: ${reason}`);
  }
  return reason;
}

/** Deletes every key under `prefix` (SCAN + UNLINK; never FLUSHDB). */
export async function deleteKeysWithPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  try {
    await client.connect();
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** Reads one raw key, to check where things are stored. */
export async function readRawKey(key: string): Promise<{ value: string | null; pttl: number }> {
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  try {
    await client.connect();
    return { value: await client.get(key), pttl: await client.pTTL(key) };
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP proxy in front of Redis that a test can stop, restart on the same port, or silence. */
export interface RedisProxy {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops listening and cuts every connection: Redis "goes down". */
  stop(): Promise<void>;
  /** Listens again on the same port: Redis "comes back". */
  start(): Promise<void>;
  /** Holds back what clients send, so Redis seems connected but never answers. */
  silence(): void;
}

/** Starts a proxy to the Redis at `redisUrl`. */
export async function startRedisProxy(): Promise<RedisProxy> {
  const target = new URL(redisUrl);
  const sockets = new Set<net.Socket>();
  let silenced = false;

  const server = net.createServer((downstream) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    sockets.add(downstream).add(upstream);
    downstream.on('data', (chunk) => {
      if (!silenced) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => downstream.write(chunk));
    const closeBoth = (): void => {
      downstream.destroy();
      upstream.destroy();
      sockets.delete(downstream);
      sockets.delete(upstream);
    };
    downstream.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  await listen(0);
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const port = address.port;

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
    },
    async start() {
      silenced = false;
      await listen(port);
    },
    silence() {
      silenced = true;
    },
  };
}
