/**
 * An express-session Store on top of a KeyValueStore, used with the memory backend.
 *
 * It replaces express-session's stock MemoryStore, which never deletes expired sessions
 * (memory grows with every visitor, a leak any stranger can drive) and warns so in its own
 * docs. Here every session is an entry with a TTL in the bounded memory store, so it expires
 * and the total is capped. Layout and TTL rules: see ./session-record.ts.
 */
import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Clock, KeyValueStore } from '../store/key-value-store.js';
import { parseSessionRecord, sessionKey, sessionTtlMs } from './session-record.js';

/** Options of {@link MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** TTL of a session whose cookie has no expiry (`session.lifetime`), in ms. */
  readonly lifetimeMs: number;
  /** The same clock as the KeyValueStore's, so TTLs agree with its expiry. Default `Date.now`. */
  readonly clock?: Clock;
}

type ErrorCallback = (error?: unknown) => void;

/** Calls an express-session callback once the promise settles; errors go to the callback. */
function settle<T>(promise: Promise<T>, callback: ((error: unknown, value?: T) => void) | undefined): void {
  promise.then(
    (value) => callback?.(null, value),
    (error: unknown) => callback?.(error),
  );
}

/** express-session Store keeping each session as JSON under `sess:<id>` in a KeyValueStore. */
export class MemorySessionStore extends session.Store {
  readonly #kv: KeyValueStore;
  readonly #lifetimeMs: number;
  readonly #clock: Clock;

  constructor(kv: KeyValueStore, options: MemorySessionStoreOptions) {
    super();
    if (!Number.isFinite(options.lifetimeMs) || options.lifetimeMs <= 0) {
      throw new RangeError(`lifetimeMs must be a positive number (got ${String(options.lifetimeMs)})`);
    }
    this.#kv = kv;
    this.#lifetimeMs = options.lifetimeMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** Reads the session; `null` when absent, expired or unreadable (as connect-redis does). */
  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    settle(
      this.#kv.get(sessionKey(sid)).then((text) => {
        const record = text === undefined ? undefined : parseSessionRecord(text);
        // The JSON shape of SessionData; express-session revives cookie.expires itself.
        return (record ?? null) as SessionData | null;
      }),
      callback,
    );
  }

  /** Writes the session with a TTL up to its cookie's expiry; an already expired one is deleted. */
  override set(sid: string, sessionData: SessionData, callback?: ErrorCallback): void {
    settle(this.#write(sid, sessionData), callback);
  }

  /** Deletes the session (sign-out); deleting one that is already gone is not an error. */
  override destroy(sid: string, callback?: ErrorCallback): void {
    settle(
      this.#kv.delete(sessionKey(sid)).then(() => undefined),
      callback,
    );
  }

  /**
   * Moves the expiry to the session's new cookie expiry. Only the stored cookie changes, and a
   * session that is gone stays gone: writing the whole session back here could revive one
   * that a concurrent sign-out just destroyed. (The KeyValueStore has no "set if present", so
   * a sign-out landing between this read and write can still be undone; the window is one
   * in-process tick for the memory store, the backend this class is used with.)
   */
  override touch(sid: string, sessionData: SessionData, callback?: ErrorCallback): void {
    settle(this.#touch(sid, sessionData), callback);
  }

  async #write(sid: string, sessionData: SessionData): Promise<void> {
    const ttlMs = sessionTtlMs(sessionData, this.#lifetimeMs, this.#clock());
    if (ttlMs <= 0) {
      await this.#kv.delete(sessionKey(sid));
      return;
    }
    await this.#kv.set(sessionKey(sid), JSON.stringify(sessionData), ttlMs);
  }

  async #touch(sid: string, sessionData: SessionData): Promise<void> {
    const text = await this.#kv.get(sessionKey(sid));
    const stored = text === undefined ? undefined : parseSessionRecord(text);
    if (stored === undefined) return;
    // Round-trip the cookie through JSON so it is stored exactly as set() would store it.
    const cookie: unknown = JSON.parse(JSON.stringify(sessionData.cookie));
    await this.#write(sid, { ...stored, cookie } as unknown as SessionData);
  }
}
