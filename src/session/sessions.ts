/**
 * The one owner of the session record: create, read, touch only if present, end. The sign-in
 * pages, the hot path, the admin API and the session directory all go through here; nobody
 * else knows the key or the format (STYLE item 5a).
 *
 * Record: KeyValueStore key `sess:<id>` (the Redis store adds its prefix, e.g.
 * `gatehouse:sess:<id>`), value JSON {@link StoredSession}, TTL until the session ends — at
 * `expiresAt`, or sooner when an idle timeout would end it. An ended session is an absent key.
 *
 * Why not express-session and connect-redis, which the product card names: they cannot be
 * this owner through their public API.
 * - express-session's Store contract has no "write only if the session still exists": `set`
 *   recreates a destroyed session, and `touch` is optional and means something else in each
 *   store (connect-redis: EXPIRE only; the stock MemoryStore: a full rewrite). The hot path's
 *   idle-timeout write went through `set` and brought revoked sessions back for their whole
 *   lifetime, invisible to the admin API (SPEC section 4: "a revoked session never comes back").
 * - The hot path cannot run express-session's middleware per proxied request (it loads and
 *   re-saves through Express objects; docs/performance.md), so it read the record itself, in
 *   express-session's format: two owners of one record.
 * What they did for us is small: a random id, a signed cookie (signed-cookie-value.ts keeps
 * express-session's `s:<id>.<signature>` format) and a JSON record with a TTL. This module
 * does that on the KeyValueStore, whose `replace` (SET XX) is the "only if present" write.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, KeyValueStore } from '../store/key-value-store.js';

/** What a session is. `lastSeenAt` is mutable so the hot path's cached copy can note activity. */
export interface SessionRecord {
  readonly email: string;
  /** Epoch ms of the sign-in; the absolute lifetime counts from here. */
  readonly signedInAt: number;
  /** Epoch ms at which the session ends whatever the activity. */
  readonly expiresAt: number;
  /** Epoch ms of the last request noted (for idle_timeout; written at most once a minute). */
  lastSeenAt: number;
  /** How the guest proved who they are (`otp`, later `passkey`). */
  readonly amr: readonly string[];
}

/** The JSON stored under `sess:<id>`. `v` lets a later format tell itself apart. */
interface StoredSession extends SessionRecord {
  readonly v: 1;
}

export interface SessionTimeouts {
  /** `session.lifetime` in ms. */
  readonly lifetime: number;
  /** `session.idle_timeout` in ms, or null when off. */
  readonly idle_timeout: number | null;
}

export interface Sessions {
  /** Starts a session for a sign-in and returns its new random id. */
  create(input: { email: string; signedInAt: number; amr?: readonly string[] }): Promise<string>;
  /** The session, or undefined when it has ended, expired or cannot be read. One store read. */
  read(id: string): Promise<SessionRecord | undefined>;
  /**
   * Notes activity at `at`: rewrites the record with the new `lastSeenAt` (and the idle TTL)
   * only if it still exists. False when it is gone: a touch never brings a session back.
   */
  touch(id: string, record: SessionRecord, at: number): Promise<boolean>;
  /** Ends the session everywhere (every gateway reads the same store); false when there was none. */
  end(id: string): Promise<boolean>;
  /** Whether the session is alive. */
  exists(id: string): Promise<boolean>;
}

export interface SessionsOptions {
  /** The current `session` settings (a reload changes them). */
  readonly timeouts: () => SessionTimeouts;
  readonly clock?: Clock;
  /** Tests name their sessions; otherwise 24 random bytes. */
  readonly newSessionId?: () => string;
}

const KEY_PREFIX = 'sess:';

function keyOf(id: string): string {
  return KEY_PREFIX + id;
}

/** Anything that is not a session record we wrote counts as no session: "not signed in" is the safe reading. */
function parseStoredSession(text: string | undefined): SessionRecord | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const record = value as Partial<StoredSession> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    record.v !== 1 ||
    typeof record.email !== 'string' ||
    typeof record.signedInAt !== 'number' ||
    typeof record.expiresAt !== 'number' ||
    typeof record.lastSeenAt !== 'number' ||
    !Array.isArray(record.amr)
  ) {
    return undefined;
  }
  return { email: record.email, signedInAt: record.signedInAt, expiresAt: record.expiresAt, lastSeenAt: record.lastSeenAt, amr: record.amr };
}

function serialize(record: SessionRecord): string {
  const stored: StoredSession = { v: 1, email: record.email, signedInAt: record.signedInAt, expiresAt: record.expiresAt, lastSeenAt: record.lastSeenAt, amr: record.amr };
  return JSON.stringify(stored);
}

export function createSessions(kv: KeyValueStore, options: SessionsOptions): Sessions {
  const now = options.clock ?? Date.now;
  const newSessionId = options.newSessionId ?? (() => randomBytes(24).toString('base64url'));

  /** How long the store keeps the record from `at`: to its end, or to its idle end if sooner. */
  function ttlFrom(record: SessionRecord, at: number): number {
    const idle = options.timeouts().idle_timeout;
    const end = idle === null ? record.expiresAt : Math.min(record.expiresAt, record.lastSeenAt + idle);
    return end - at;
  }

  return {
    async create({ email, signedInAt, amr = ['otp'] }) {
      const record: SessionRecord = { email, signedInAt, expiresAt: signedInAt + options.timeouts().lifetime, lastSeenAt: signedInAt, amr };
      const id = newSessionId();
      await kv.set(keyOf(id), serialize(record), Math.max(1, ttlFrom(record, now())));
      return id;
    },

    async read(id) {
      return parseStoredSession(await kv.get(keyOf(id)));
    },

    async touch(id, record, at) {
      const touched = { ...record, lastSeenAt: at };
      const ttl = ttlFrom(touched, now());
      if (ttl <= 0) return false;
      // SET XX: a session ended since it was read stays ended.
      return kv.replace(keyOf(id), serialize(touched), ttl);
    },

    end: (id) => kv.delete(keyOf(id)),

    async exists(id) {
      return (await kv.get(keyOf(id))) !== undefined;
    },
  };
}
