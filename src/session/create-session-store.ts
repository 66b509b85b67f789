/**
 * Picks the express-session Store for the configured backend, and gives the gateway's hot
 * path one way to read a session that sees exactly what express-session sees.
 *
 * Where the session with id X lives:
 * - memory: KeyValueStore key `sess:X` (the Map of src/store/memory-store.ts), value = JSON.
 * - Redis:  key `<prefix>sess:X`, e.g. `gatehouse:sess:X`, a string holding the JSON, with a
 *           TTL (`SET … EX`, `EXPIRE` on touch). connect-redis writes it with prefix
 *           `<prefix>sess:` and JSON as its serializer (connect-redis 9: key = prefix + sid),
 *           and `<prefix>` is the Redis KeyValueStore's own prefix, so `kv.get('sess:X')`
 *           on that store is a GET of the very same key.
 * The JSON is express-session's session object; details in ./session-record.ts.
 */
import type { SessionData, Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import { StoreUnavailableError, type Clock, type KeyValueStore } from '../store/key-value-store.js';
import type { RedisStoreHandle } from '../store/redis-store.js';
import { MemorySessionStore } from './memory-session-store.js';
import { parseSessionRecord, sessionKey, sessionTtlMs, SESSION_KEY_PREFIX, type StoredSessionRecord } from './session-record.js';

export { sessionKey, SESSION_KEY_PREFIX, type StoredSessionRecord } from './session-record.js';

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** `session.lifetime` in ms: the TTL of a session whose cookie has no expiry. */
  readonly lifetimeMs: number;
  /** Clock of the memory backend (Redis keeps its own time). Default `Date.now`. */
  readonly clock?: Clock;
}

/** True for the Redis KeyValueStore (it carries the node-redis client to share). */
export function isRedisStoreHandle(kv: KeyValueStore | RedisStoreHandle): kv is RedisStoreHandle {
  return 'client' in kv && 'runCommand' in kv && typeof kv.runCommand === 'function';
}

/**
 * The express-session Store for `kv`: connect-redis on the shared client for Redis, the
 * KeyValueStore-backed {@link MemorySessionStore} for memory. Both keep sessions where the
 * file comment says, so {@link readSessionRecord} works on either.
 */
export function createSessionStore(kv: KeyValueStore | RedisStoreHandle, options: SessionStoreOptions): Store {
  if (isRedisStoreHandle(kv)) return new RedisSessionStore(kv, options.lifetimeMs);
  return new MemorySessionStore(kv, { lifetimeMs: options.lifetimeMs, clock: options.clock });
}

/**
 * The stored session with id `id`, as express-session's `store.get` would return it (parsed
 * JSON; `cookie.expires` still an ISO string), or undefined when there is none. One round trip.
 * Rejects with StoreUnavailableError when Redis is down: the caller must answer 503.
 */
export async function readSessionRecord(kv: KeyValueStore | RedisStoreHandle, id: string): Promise<StoredSessionRecord | undefined> {
  const text = await kv.get(sessionKey(id));
  return text === undefined ? undefined : parseSessionRecord(text);
}

// connect-redis's own callback type (it takes `any` data, which is what lets it stand in for
// express-session's typed callbacks).
type ConnectRedisCallback = NonNullable<Parameters<RedisStore['get']>[1]>;

/**
 * connect-redis with the Redis store's rules: an operation refused at once while Redis is
 * disconnected, a timeout when Redis is silent, and StoreUnavailableError for every failure,
 * so express-session's errors become a 503 like every other store failure, not a 500.
 * connect-redis alone would wait forever on a Redis that accepts but never answers.
 */
class RedisSessionStore extends RedisStore {
  readonly #handle: RedisStoreHandle;

  constructor(handle: RedisStoreHandle, lifetimeMs: number) {
    super({
      client: handle.client,
      prefix: handle.prefix + SESSION_KEY_PREFIX,
      // Same TTL rule as the memory backend; connect-redis takes whole seconds (EX), and
      // deletes the session itself when this is 0 or less.
      ttl: (sessionData: SessionData) => Math.ceil(sessionTtlMs(sessionData, lifetimeMs, Date.now()) / 1000),
      // Same parsing as readSessionRecord, so both agree even on unreadable data (absent).
      serializer: {
        parse: (text: string) => (parseSessionRecord(text) ?? null) as unknown as SessionData,
        stringify: (sessionData: SessionData) => JSON.stringify(sessionData),
      },
    });
    this.#handle = handle;
  }

  override async get(sid: string, callback?: ConnectRedisCallback): Promise<unknown> {
    return finish(this.#handle.runCommand('session GET', () => super.get(sid)), callback);
  }

  override async set(sid: string, sessionData: SessionData, callback?: ConnectRedisCallback): Promise<unknown> {
    return finish(this.#handle.runCommand('session SET', () => super.set(sid, sessionData)), callback);
  }

  override async touch(sid: string, sessionData: SessionData, callback?: ConnectRedisCallback): Promise<unknown> {
    return finish(this.#handle.runCommand('session EXPIRE', () => super.touch(sid, sessionData)), callback);
  }

  override async destroy(sid: string, callback?: ConnectRedisCallback): Promise<unknown> {
    return finish(this.#handle.runCommand('session DEL', () => super.destroy(sid)), callback);
  }
}

/**
 * connect-redis's calling convention: with a callback, report through it; without one,
 * resolve or reject. Errors are always StoreUnavailableError (runCommand guarantees it).
 */
async function finish(operation: Promise<unknown>, callback: ConnectRedisCallback | undefined): Promise<unknown> {
  if (callback === undefined) return operation;
  let result: unknown;
  try {
    result = await operation;
  } catch (error) {
    return callback(error instanceof StoreUnavailableError ? error : new StoreUnavailableError(undefined, { cause: error }));
  }
  return callback(null, result);
}
