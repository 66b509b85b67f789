/**
 * The Redis KeyValueStore: for several gateways sharing sessions, codes and rate limits, and
 * for sessions that survive a restart. Each contract operation is one Redis command (or one
 * Lua script), so atomicity comes from Redis itself, not from anything in this process.
 *
 * Availability rules (SPEC section 4, "the store is required for protected routes"):
 * - Creating the store never waits for Redis and never throws because Redis is down: the
 *   gateway must start, report not-ready, and recover by itself when Redis returns.
 * - While the client is not connected, every operation rejects at once with
 *   StoreUnavailableError. node-redis would otherwise queue commands until it reconnects,
 *   and a request waiting on a queue is a hung request, not a 503. The offline queue is off.
 * - A connected Redis that stops answering is caught by a per-operation timeout.
 * - Every failure surfaces as StoreUnavailableError (the cause is kept): a caller that cannot
 *   get an answer must fail closed, whatever the reason.
 *
 * Key layout: every key the contract names is stored at `<prefix><key>`, e.g.
 * `gatehouse:otp:flow:<id>`; sessions at `<prefix>sess:<id>` (src/session/sessions.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { StoreUnavailableError, UnsupportedStoreError, type KeyValueStore } from './key-value-store.js';
import { createRedisConnection, type RedisCommands, type RedisTlsFiles, type RedisTopology } from './redis-connection.js';
import { toTtlMilliseconds } from './ttl-milliseconds.js';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** A Sentinel or a Cluster, or a standalone server by `url`. */
  readonly topology?: RedisTopology;
  /** Shorthand for a standalone topology: a `redis://` or `rediss://` URL (its credentials are never logged). */
  readonly url?: string;
  /** Prepended to every key, e.g. `gatehouse:`, so several apps can share one Redis. */
  readonly prefix: string;
  /** The data nodes' password. */
  readonly password?: string;
  /** TLS with these PEM files (a private CA, a client certificate and key). */
  readonly tls?: RedisTlsFiles;
  /** Receives `store.unavailable` / `store.recovered`, once per transition. */
  readonly logger?: Logger;
  /**
   * How long one operation may wait for Redis before it fails with StoreUnavailableError.
   * Default 1 000 ms: a request stuck behind a silent Redis should become a 503, not hang.
   */
  readonly commandTimeoutMs?: number;
}

/** The Redis store plus what tests and the readiness probe need. */
export interface RedisStoreHandle extends KeyValueStore {
  /** The commands on the current node-redis client (tests write odd keys with them). */
  readonly commands: RedisCommands;
  /** The key prefix this store writes under. */
  readonly prefix: string;
  /** True while the client is connected. `ping()` is the end-to-end check. */
  isReady(): boolean;
  /**
   * Runs `command` under this store's rules: rejects at once when Redis is not connected,
   * times out, and turns every failure into StoreUnavailableError. For callers that use
   * `commands` directly.
   */
  runCommand<T>(operation: string, command: () => Promise<T>): Promise<T>;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
const MAX_STALL_EXTENSIONS = 3;

/** Redis took longer than `commandTimeoutMs` to answer (connected, but silent). */
class CommandTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'CommandTimeoutError';
  }
}

/**
 * Adds ARGV[2] and returns `[count, pttl]` in one round trip. The first increment creates the
 * key without a TTL, and this sets the window; later ones see a TTL and leave it alone, so a
 * client that keeps trying can never push its window forward (fixed window).
 * A key that somehow has no TTL (-1) gets one here too, so no counter can live forever.
 * Lua rather than MULTI + `PEXPIRE NX` because `NX` there needs Redis 7.
 */
const INCREMENT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
`;

/** DECRBY only on a key that exists (a plain DECR would create a counter without a TTL). */
const DECREMENT_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('DECRBY', KEYS[1], 1)
end
return false
`;

/**
 * SADD, then extend the set's TTL to at least ARGV[2] ms, in one round trip and atomically.
 * Not `PEXPIRE … GT` alone: GT treats a key without TTL (a set SADD just created) as living
 * forever and would never give it one. A Lua script also works before Redis 7.
 */
const SET_ADD_SCRIPT = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`;

/** What to tell an operator whose URL names a Sentinel or a Cluster node (`redis_mode`). */
function describeUnsupportedMode(mode: string, where: string): string {
  if (mode === 'sentinel') return `${where} is a Redis Sentinel, not a Redis server: name the sentinels in session.store.redis.sentinel (nodes and the primary's name) instead of url`;
  if (mode === 'cluster') return `${where} is a Redis Cluster node: name the cluster's nodes in session.store.redis.cluster.nodes instead of url`;
  return `${where} runs in redis_mode ${mode}: name a standalone Redis in session.store.redis.url`;
}

/**
 * Creates the Redis store and starts connecting in the background. Returns at once, whether
 * or not Redis is reachable; see the file comment for how operations behave meanwhile.
 * Throws only for a URL node-redis cannot use (a configuration error, reported without the URL).
 */
export function createRedisStore(options: RedisStoreOptions): RedisStoreHandle {
  const { prefix, logger } = options;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;

  // 'connecting' until the first outcome, so a gateway that starts against a dead Redis logs
  // store.unavailable once, and one that connects logs nothing.
  let state: 'connecting' | 'available' | 'unavailable' = 'connecting';
  // A Sentinel or a Cluster node named as a standalone URL answers PING like a Redis, so the
  // gateway would look ready while every sign-in fails. Each (re)connection asks what it reached.
  let unsupported: string | undefined;

  function reportUnavailable(reason: string): void {
    if (state === 'unavailable') return;
    state = 'unavailable';
    logger?.error({ event: 'store.unavailable', store: 'redis', redis: where, reason }, 'session store unreachable: protected routes answer 503');
  }

  function reportAvailable(): void {
    const wasUnavailable = state === 'unavailable';
    state = 'available';
    if (wasUnavailable) logger?.info({ event: 'store.recovered', store: 'redis', redis: where }, 'session store reachable again');
  }

  function checkServerMode(): void {
    connection.serverMode().then(
      (mode) => {
        const problem = mode === undefined || mode === 'standalone' ? undefined : describeUnsupportedMode(mode, where);
        if (problem && problem !== unsupported) logger?.error({ event: 'store.unsupported', store: 'redis', redis: where, redis_mode: mode }, problem);
        unsupported = problem;
      },
      // A Redis that does not allow INFO (some managed services rename it) is taken as standalone.
      () => {
        unsupported = undefined;
      },
    );
  }

  let warnedUnsafeFailover = false;
  function checkFailoverSafety(): void {
    connection.refusesUnreplicatedWrites().then(
      (refuses) => {
        if (refuses !== false || warnedUnsafeFailover) return;
        warnedUnsafeFailover = true;
        logger?.warn(
          { event: 'store.failover_unsafe', store: 'redis', redis: where },
          'the Redis primary takes writes with no replica attached (min-replicas-to-write 0): sign-ins in the seconds of a failover can be lost; see docs/operations.md',
        );
      },
      () => undefined,
    );
  }

  const connection = createRedisConnection({
    topology: options.topology ?? { kind: 'standalone', url: options.url ?? 'redis://127.0.0.1:6379' },
    password: options.password,
    tls: options.tls,
    onError: reportUnavailable,
    onReady: () => {
      reportAvailable();
      checkServerMode();
      checkFailoverSafety();
    },
  });
  const { where, commands: client } = connection;

  async function runCommand<T>(operation: string, command: () => Promise<T>): Promise<T> {
    if (!connection.isReady()) {
      throw new StoreUnavailableError(`the session store (Redis at ${where}) is not connected; ${operation} refused`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // A healthy Redis must not be declared down for our own stall (a long GC, a starved
      // CPU): after one, the timer is overdue and runs before the command is even written
      // or its waiting reply read. A timer that fired late by more than half the timeout
      // measured our stall, not Redis: Redis gets the full timeout again (a few times at most).
      let extensions = 0;
      const arm = (): void => {
        const dueAt = performance.now() + commandTimeoutMs;
        timer = setTimeout(() => {
          if (performance.now() - dueAt > commandTimeoutMs / 2 && extensions < MAX_STALL_EXTENSIONS) {
            extensions += 1;
            arm();
          } else {
            reject(new CommandTimeoutError(commandTimeoutMs));
          }
        }, commandTimeoutMs);
      };
      arm();
    });
    try {
      // A late reply after the timeout is still read by node-redis (the connection stays in
      // step); race() keeps its rejection from going unhandled.
      return await Promise.race([command(), timeout]);
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof CommandTimeoutError) reportUnavailable(`${operation}: ${reason}`);
      throw new StoreUnavailableError(`the session store (Redis at ${where}) failed on ${operation}: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a contract operation and notices a Redis that answers again after a timeout. */
  async function run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    const result = await runCommand(operation, command);
    if (state === 'unavailable') reportAvailable();
    return result;
  }

  const keyOf = (key: string): string => prefix + key;

  return {
    commands: client,
    prefix,
    isReady: () => connection.isReady(),
    runCommand,

    async get(key) {
      const value = await run('GET', () => client.get(keyOf(key)));
      return value ?? undefined;
    },

    async set(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      await run('SET', () => client.set(keyOf(key), value, { expiration: { type: 'PX', value: ttl } }));
    },

    async add(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      const reply = await run('SET NX', () => client.set(keyOf(key), value, { expiration: { type: 'PX', value: ttl }, condition: 'NX' }));
      return reply === 'OK';
    },

    async replace(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      // SET XX: one command, so a DEL from anywhere either comes first (nothing written) or after.
      const reply = await run('SET XX', () => client.set(keyOf(key), value, { expiration: { type: 'PX', value: ttl }, condition: 'XX' }));
      return reply === 'OK';
    },

    async delete(key) {
      return (await run('DEL', () => client.del(keyOf(key)))) > 0;
    },

    async consume(key) {
      // GETDEL is one command: of many concurrent callers, Redis hands the value to one.
      const value = await run('GETDEL', () => client.getDel(keyOf(key)));
      return value ?? undefined;
    },

    async increment(key, windowMs, amount = 1) {
      const window = toTtlMilliseconds(windowMs, 'windowMs');
      if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError('amount must be a positive integer');
      const reply: unknown = await run('INCR', () => client.eval(INCREMENT_SCRIPT, { keys: [keyOf(key)], arguments: [String(window), String(amount)] }));
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
        throw new StoreUnavailableError(`the session store (Redis at ${where}) gave an unexpected answer to INCR`);
      }
      return { count: reply[0], resetInMs: reply[1] };
    },

    async decrement(key) {
      await run('DECR', () => client.eval(DECREMENT_SCRIPT, { keys: [keyOf(key)] }));
    },

    async ttl(key) {
      const ttl = await run('PTTL', () => client.pTTL(keyOf(key)));
      if (ttl === -2) return undefined;
      // -1: the key exists without expiry. This store never writes one; something else did.
      // Infinity says "present, never expires" rather than pretending it is absent.
      if (ttl < 0) return Number.POSITIVE_INFINITY;
      return ttl;
    },

    async setAdd(key, member, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      await run('SADD', () => client.eval(SET_ADD_SCRIPT, { keys: [keyOf(key)], arguments: [member, String(ttl)] }));
    },

    async setRemove(key, member) {
      await run('SREM', () => client.sRem(keyOf(key), member));
    },

    async setMembers(key) {
      return run('SMEMBERS', () => client.sMembers(keyOf(key)));
    },

    async ping() {
      await run('PING', () => connection.ping());
      if (unsupported) throw new UnsupportedStoreError(unsupported);
    },

    async close() {
      // The gateway closes the store after draining requests: nothing is left to wait for,
      // and waiting for replies would hang on a Redis that stopped answering.
      connection.destroy();
    },
  };
}
