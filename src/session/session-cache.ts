/**
 * A short-lived in-process cache in front of the session store, so a busy guest costs one
 * store read per second instead of one per request. Freshness is bounded by wall-clock time
 * (monotonic), not by the injected clock: a session revoked in the store by any gateway
 * stops working here within `maxAgeMs` (one second by default). Lifetime and idle rules are
 * still checked on every request against the cached record, so expiry is exact. Sessions
 * this process ends (logout, sign-in replacing an id) are dropped at once.
 *
 * A busy guest never waits for the store: a request late in an entry's life (after
 * `refreshAfterMs`) is answered from it and starts the next read in the background, whose
 * record replaces it. Only a guest idle for longer than `maxAgeMs` waits for one read.
 */
import { performance } from 'node:perf_hooks';
import type { SessionRecord } from './sessions.js';

export const SESSION_CACHE_MAX_AGE_MS = 1000;
/** When the background re-read starts: early enough that a store round trip ends before the entry expires. */
export const SESSION_CACHE_REFRESH_AFTER_MS = 750;

export interface SessionCache {
  /** The record for `id`, from the cache when fresh, else from `load` (one store read). */
  read(id: string): Promise<SessionRecord | undefined>;
  /** The cached record when fresh, without waiting for the store; undefined otherwise. */
  peek(id: string): SessionRecord | undefined;
  /** Forgets `id` now (this process ended or replaced the session), a read under way included. */
  invalidate(id: string): void;
  clear(): void;
}

interface Entry {
  readonly record: SessionRecord;
  readonly loadedAt: number;
}

export function createSessionCache(
  load: (id: string) => Promise<SessionRecord | undefined>,
  options: { maxAgeMs?: number; refreshAfterMs?: number; maxEntries?: number; now?: () => number } = {},
): SessionCache {
  const maxAgeMs = options.maxAgeMs ?? SESSION_CACHE_MAX_AGE_MS;
  const refreshAfterMs = options.refreshAfterMs ?? Math.min(SESSION_CACHE_REFRESH_AFTER_MS, maxAgeMs);
  const maxEntries = options.maxEntries ?? 50_000;
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, Entry>();
  // Concurrent requests of one guest share a single store read.
  const inFlight = new Map<string, Promise<SessionRecord | undefined>>();

  /** One store read of `id`; its answer is kept only if nobody invalidated `id` meanwhile. */
  function startLoad(id: string): Promise<SessionRecord | undefined> {
    const started = now();
    const promise: Promise<SessionRecord | undefined> = load(id).then(
      (record) => {
        if (inFlight.get(id) !== promise) return record;
        inFlight.delete(id);
        entries.delete(id);
        if (record !== undefined) {
          // Oldest first in a Map: evict from the front when full (bounded memory).
          if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
          entries.set(id, { record, loadedAt: started });
        }
        return record;
      },
      (error: unknown) => {
        if (inFlight.get(id) === promise) inFlight.delete(id);
        // A fresh entry stays until its own max age; a stale one is of no use.
        const entry = entries.get(id);
        if (entry && now() - entry.loadedAt >= maxAgeMs) entries.delete(id);
        throw error;
      },
    );
    inFlight.set(id, promise);
    return promise;
  }

  /** The fresh entry's record, starting the next read when it is late in its life. */
  function fresh(id: string): SessionRecord | undefined {
    const entry = entries.get(id);
    if (entry === undefined) return undefined;
    const age = now() - entry.loadedAt;
    if (age >= maxAgeMs) return undefined;
    // Failures show on the read after max age; the store logs its own outages.
    if (age >= refreshAfterMs && !inFlight.has(id)) startLoad(id).catch(() => undefined);
    return entry.record;
  }

  return {
    peek: fresh,
    read(id) {
      const record = fresh(id);
      if (record !== undefined) return Promise.resolve(record);
      return inFlight.get(id) ?? startLoad(id);
    },
    invalidate(id) {
      entries.delete(id);
      inFlight.delete(id);
    },
    clear() {
      entries.clear();
      inFlight.clear();
    },
  };
}
