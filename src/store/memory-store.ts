/**
 * The in-process KeyValueStore: for `session.store: memory` (development, a single gateway).
 * Nothing here is shared between processes, and a restart loses everything.
 *
 * It is built to stay safe when strangers can make it grow: anyone on the internet can
 * create entries (codes, rate-limit counters), so the store is bounded and every entry
 * expires. One Map holds `{ value, expiresAt }` per key; expired entries are dropped when
 * read (lazily) and by a periodic sweep, so memory is returned even for keys nobody reads
 * again.
 *
 * It never evicts a live entry to make room: evicting would sign guests out and reset the
 * brute-force counters, which is exactly what a flood of code requests would aim for. When
 * the store is full, writing a new key fails with StoreFullError (a StoreUnavailableError,
 * so callers fail closed: a code request gets 503), while every existing key can still be
 * updated. Keys under a `quotas` prefix (the code requests' own keys) have a smaller bound
 * of their own, so a flood of them stops short of the whole store and leaves room for new
 * sessions and counters (SPEC section 4).
 *
 * All operations run synchronously inside one call, so `consume` and `increment` are atomic
 * without locks: no other caller can run between the read and the write.
 */
import { StoreUnavailableError, type Clock, type KeyValueStore } from './key-value-store.js';
import { toTtlMilliseconds } from './ttl-milliseconds.js';

/** The store is full: a new key cannot be written (existing ones can). */
export class StoreFullError extends StoreUnavailableError {
  constructor(what: string) {
    super(`the memory store is full (${what}); nothing was evicted`);
    this.name = 'StoreFullError';
  }
}

/** A bound on the keys that start with `prefix`, below the store's own. */
export interface KeyQuota {
  readonly prefix: string;
  readonly maxEntries: number;
}

/** Options of {@link createMemoryStore}; all optional. */
export interface MemoryStoreOptions {
  /** Time source; tests inject one to expire entries without sleeping. Default `Date.now`. */
  readonly clock?: Clock;
  /** Most entries kept at once; beyond it new keys are refused (StoreFullError). Default 200 000. */
  readonly maxEntries?: number;
  /** Smaller bounds for keys by prefix (each key counts in the first quota it matches). */
  readonly quotas?: readonly KeyQuota[];
  /** How often expired entries are swept out. Default 60 000 (one minute). */
  readonly sweepIntervalMs?: number;
}

/** The memory store: a KeyValueStore that also tells how many entries it holds. */
export interface MemoryKeyValueStore extends KeyValueStore {
  /** Entries held right now, expired-but-not-yet-swept ones included (for metrics and tests). */
  readonly size: number;
}

/**
 * One stored value: a string, or a Set for the set operations (a key holds one or the other,
 * as in Redis). The expiry lives beside the value, so one Map is all the state, and a set
 * counts as one entry towards `maxEntries`.
 */
interface Entry {
  value: string | Set<string>;
  /** Clock time (ms) at which the entry stops existing. */
  readonly expiresAt: number;
}

const DEFAULT_MAX_ENTRIES = 200_000;
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/**
 * A full store sweeps before it refuses a new key, but at most this often: under a flood
 * every write finds the store full, and an O(n) sweep per write would be a CPU outage.
 */
const MIN_PRESSURE_SWEEP_INTERVAL_MS = 1_000;

/** Counters hold decimal integers only, as in Redis, so `get` reads them back as-is. */
const INTEGER = /^-?\d+$/;

/**
 * Creates an in-process, bounded, expiring KeyValueStore. For more users than `maxEntries`,
 * use Redis (give it `maxmemory-policy noeviction` for the same guarantee).
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryKeyValueStore {
  const clock = options.clock ?? Date.now;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`maxEntries must be a positive integer (got ${String(maxEntries)})`);
  }
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs <= 0) {
    throw new RangeError(`sweepIntervalMs must be a positive number (got ${String(sweepIntervalMs)})`);
  }

  const entries = new Map<string, Entry>();
  const quotas = (options.quotas ?? []).map((quota) => {
    if (!Number.isInteger(quota.maxEntries) || quota.maxEntries < 1) throw new RangeError(`quota maxEntries must be a positive integer (got ${String(quota.maxEntries)})`);
    return { ...quota, used: 0 };
  });
  let lastSweepAt = Number.NEGATIVE_INFINITY;

  function quotaOf(key: string): (typeof quotas)[number] | undefined {
    for (const quota of quotas) if (key.startsWith(quota.prefix)) return quota;
    return undefined;
  }

  /** The one way an entry leaves the Map, so the quotas stay counted right. */
  function remove(key: string): void {
    if (entries.delete(key)) {
      const quota = quotaOf(key);
      if (quota) quota.used -= 1;
    }
  }

  function sweep(now: number): void {
    lastSweepAt = now;
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) remove(key);
    }
  }

  // unref: a sweep timer must never keep a finished process (or a test run) alive.
  const sweepTimer = setInterval(() => sweep(clock()), sweepIntervalMs);
  sweepTimer.unref();

  /** The live entry for `key`, dropping it if it has expired. */
  function live(key: string, now: number): Entry | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      remove(key);
      return undefined;
    }
    return entry;
  }

  /** The string at `key`, refusing a set (Redis answers WRONGTYPE there). */
  function liveString(key: string, now: number): (Entry & { value: string }) | undefined {
    const entry = live(key, now);
    if (entry === undefined) return undefined;
    if (typeof entry.value !== 'string') throw new TypeError(`the value at "${key}" is a set, not a string`);
    return entry as Entry & { value: string };
  }

  /** The set at `key`, refusing a string (Redis answers WRONGTYPE there). */
  function liveSet(key: string, now: number): (Entry & { value: Set<string> }) | undefined {
    const entry = live(key, now);
    if (entry === undefined) return undefined;
    if (typeof entry.value === 'string') throw new TypeError(`the value at "${key}" is a string, not a set`);
    return entry as Entry & { value: Set<string> };
  }

  /** Stores an entry. A new key needs room (its quota's and the store's); an existing one always has it. */
  function write(key: string, entry: Entry, now: number): void {
    if (entries.has(key)) {
      entries.set(key, entry);
      return;
    }
    const quota = quotaOf(key);
    const full = () => entries.size >= maxEntries || (quota !== undefined && quota.used >= quota.maxEntries);
    if (full() && now - lastSweepAt >= MIN_PRESSURE_SWEEP_INTERVAL_MS) sweep(now);
    if (entries.size >= maxEntries) throw new StoreFullError(`${maxEntries} entries`);
    if (quota !== undefined && quota.used >= quota.maxEntries) throw new StoreFullError(`${quota.maxEntries} "${quota.prefix}" entries`);
    entries.set(key, entry);
    if (quota) quota.used += 1;
  }

  return {
    get size() {
      return entries.size;
    },

    async get(key) {
      return liveString(key, clock())?.value;
    },

    async set(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      const now = clock();
      write(key, { value, expiresAt: now + ttl }, now);
    },

    async add(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      const now = clock();
      if (live(key, now) !== undefined) return false;
      write(key, { value, expiresAt: now + ttl }, now);
      return true;
    },

    async replace(key, value, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      const now = clock();
      if (liveString(key, now) === undefined) return false;
      write(key, { value, expiresAt: now + ttl }, now);
      return true;
    },

    async delete(key) {
      const existed = live(key, clock()) !== undefined;
      remove(key);
      return existed;
    },

    async consume(key) {
      const entry = liveString(key, clock());
      if (entry === undefined) return undefined;
      remove(key);
      return entry.value;
    },

    async increment(key, windowMs, amount = 1) {
      const window = toTtlMilliseconds(windowMs, 'windowMs');
      if (!Number.isSafeInteger(amount) || amount < 1) throw new RangeError('amount must be a positive integer');
      const now = clock();
      const entry = liveString(key, now);
      if (entry === undefined) {
        write(key, { value: String(amount), expiresAt: now + window }, now);
        return { count: amount, resetInMs: window };
      }
      if (!INTEGER.test(entry.value)) throw new TypeError(`the value at "${key}" is not a counter`);
      const count = Number(entry.value) + amount;
      // Fixed window: the expiry is carried over, so hammering a counter never extends it.
      write(key, { value: String(count), expiresAt: entry.expiresAt }, now);
      return { count, resetInMs: entry.expiresAt - now };
    },

    async decrement(key) {
      const now = clock();
      const entry = liveString(key, now);
      if (entry === undefined) return;
      if (!INTEGER.test(entry.value)) throw new TypeError(`the value at "${key}" is not a counter`);
      entry.value = String(Number(entry.value) - 1);
    },

    async ttl(key) {
      const now = clock();
      const entry = live(key, now);
      return entry === undefined ? undefined : entry.expiresAt - now;
    },

    async setAdd(key, member, ttlMs) {
      const ttl = toTtlMilliseconds(ttlMs);
      const now = clock();
      const entry = liveSet(key, now);
      // The Set is updated in place: copying it would make each add O(size of the index).
      const members = entry?.value ?? new Set<string>();
      members.add(member);
      // Only ever extended: an index must outlive the longest-lived thing it points to.
      write(key, { value: members, expiresAt: Math.max(entry?.expiresAt ?? 0, now + ttl) }, now);
    },

    async setRemove(key, member) {
      const entry = liveSet(key, clock());
      if (entry === undefined) return;
      entry.value.delete(member);
      // As in Redis, a set without members does not exist.
      if (entry.value.size === 0) remove(key);
    },

    async setMembers(key) {
      return [...(liveSet(key, clock())?.value ?? [])];
    },

    async ping() {},

    async close() {
      clearInterval(sweepTimer);
    },
  };
}
