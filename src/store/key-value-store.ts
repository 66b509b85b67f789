/**
 * The storage contract every backend (memory, Redis) fulfils. It is small on purpose: the
 * security rules of sign-in (single-use codes, attempt counters, rate limits, cooldowns)
 * are built from these few atomic operations, so each backend only has to get these right.
 * The set operations exist for indexes (e.g. "the sessions of this email", used by the admin
 * API to revoke them); a key holds either a string or a set, never both.
 * One contract test suite (test/store/key-value-store.contract.ts) runs against all of them.
 *
 * Keys are plain strings; backends add their own prefix. Values are strings (JSON where the
 * caller needs structure). Every write has a TTL: nothing stored lives forever.
 */
export interface KeyValueStore {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` for `ttlMs`, replacing any previous value and TTL. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores `value` only if `key` is absent; true when it was stored (SET NX). */
  add(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * Stores `value` for `ttlMs` only if `key` exists (SET XX); true when it was stored. A
   * record that was deleted stays deleted: nothing can write it back by updating it.
   */
  replace(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Removes `key`; true when something was removed. */
  delete(key: string): Promise<boolean>;
  /**
   * Reads and removes `key` in one atomic step (GETDEL). Of many concurrent callers,
   * exactly one gets the value: this is what makes a sign-in code single-use.
   */
  consume(key: string): Promise<string | undefined>;
  /**
   * Adds `amount` (default one) to a counter and returns the new count. The first increment starts a window
   * of `windowMs`; later ones do not extend it (fixed-window rate limits).
   * `resetInMs` is the time left until the counter disappears.
   */
  increment(key: string, windowMs: number, amount?: number): Promise<{ count: number; resetInMs: number }>;
  /** Takes one back from an existing counter, keeping its window; nothing when it is gone. */
  decrement(key: string): Promise<void>;
  /** Milliseconds until `key` expires, or undefined when absent. */
  ttl(key: string): Promise<number | undefined>;
  /**
   * Adds `member` to the set at `key` (SADD) and makes the set live at least `ttlMs` from
   * now: a shorter remaining TTL is extended, a longer one is kept (an index of sessions must
   * outlive the longest session in it). Adding a member already present only does the TTL part.
   */
  setAdd(key: string, member: string, ttlMs: number): Promise<void>;
  /** Removes `member` from the set at `key` (SREM); the TTL is unchanged, an emptied set is gone. */
  setRemove(key: string, member: string): Promise<void>;
  /** The members of the set at `key`, in no particular order; [] when absent or expired. */
  setMembers(key: string): Promise<string[]>;
  /** Resolves when the backend answers; rejects when it is unreachable. */
  ping(): Promise<void>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

/** A store that cannot be reached. Callers fail closed on it: 503, never "allowed". */
export class StoreUnavailableError extends Error {
  constructor(message = 'the session store is unreachable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** The store answers, but is not one the gateway can use (a Redis Sentinel, a Cluster node). */
export class UnsupportedStoreError extends StoreUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedStoreError';
  }
}

/** Milliseconds since the epoch; injected so expiry and windows are tested without sleeping. */
export type Clock = () => number;
