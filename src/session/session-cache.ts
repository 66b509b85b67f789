/**
 * A short-lived in-process cache in front of the session store, so a busy guest costs one
 * store read per second instead of one per request. Freshness is bounded by wall-clock time
 * (monotonic), not by the injected clock: a session revoked in the store by any gateway
 * stops working here within `maxAgeMs` (one second by default). Lifetime and idle rules are
 * still checked on every request against the cached record, so expiry is exact. Sessions
 * this process ends (logout, sign-in replacing an id) are dropped at once.
 */
import { performance } from 'node:perf_hooks';
import type { SessionRecord } from './sessions.js';

export const SESSION_CACHE_MAX_AGE_MS = 1000;

export interface SessionCache {
  /** The record for `id`, from the cache when fresh, else from `load` (one store read). */
  read(id: string): Promise<SessionRecord | undefined>;
  /** The cached record when fresh, without asking the store; undefined otherwise. */
  peek(id: string): SessionRecord | undefined;
  /** Forgets `id` now (this process ended or replaced the session). */
  invalidate(id: string): void;
  clear(): void;
}

interface Entry {
  readonly record: SessionRecord;
  readonly loadedAt: number;
}

export function createSessionCache(
  load: (id: string) => Promise<SessionRecord | undefined>,
  options: { maxAgeMs?: number; maxEntries?: number; now?: () => number } = {},
): SessionCache {
  const maxAgeMs = options.maxAgeMs ?? SESSION_CACHE_MAX_AGE_MS;
  const maxEntries = options.maxEntries ?? 50_000;
  const now = options.now ?? (() => performance.now());
  const entries = new Map<string, Entry>();
  // Concurrent requests of one guest share a single store read.
  const inFlight = new Map<string, Promise<SessionRecord | undefined>>();

  return {
    peek(id) {
      const entry = entries.get(id);
      return entry && now() - entry.loadedAt < maxAgeMs ? entry.record : undefined;
    },
    read(id) {
      const entry = entries.get(id);
      if (entry && now() - entry.loadedAt < maxAgeMs) return Promise.resolve(entry.record);
      const pending = inFlight.get(id);
      if (pending) return pending;
      const started = now();
      const promise = load(id).then(
        (record) => {
          inFlight.delete(id);
          if (record !== undefined) {
            entries.delete(id);
            // Oldest first in a Map: evict from the front when full (bounded memory).
            if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
            entries.set(id, { record, loadedAt: started });
          } else entries.delete(id);
          return record;
        },
        (error: unknown) => {
          inFlight.delete(id);
          entries.delete(id);
          throw error;
        },
      );
      inFlight.set(id, promise);
      return promise;
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
