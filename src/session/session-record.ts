/**
 * How a session is stored, in one place for every backend and for the hot path that reads
 * sessions without express-session: the key, the JSON and the TTL.
 *
 * Layout (the whole of it; the gateway's hot path depends on it):
 * - Key: `sess:<id>` in the KeyValueStore, where `<id>` is express-session's session id (the
 *   part of the cookie before the signature). The Redis KeyValueStore adds its prefix, so in
 *   Redis the session lives at `<prefix>sess:<id>`, e.g. `gatehouse:sess:<id>`; connect-redis
 *   is configured with exactly that prefix, so both read and write the same key.
 * - Value: `JSON.stringify` of express-session's session object, i.e.
 *   `{"cookie":{"originalMaxAge":…,"expires":"<ISO date>","httpOnly":true,"path":"/",…},…data}`.
 * - TTL: until the cookie expires (`cookie.expires`), else the configured lifetime. The
 *   backend expires the key, so an expired session is simply absent.
 * The `sess:` namespace belongs to sessions: other KeyValueStore users must not write there.
 */
import type { SessionData } from 'express-session';

/** What every session key starts with inside the KeyValueStore (before any backend prefix). */
export const SESSION_KEY_PREFIX = 'sess:';

/** The KeyValueStore key of the session with id `id`: `sess:<id>`. */
export function sessionKey(id: string): string {
  return SESSION_KEY_PREFIX + id;
}

/**
 * A stored session as JSON gives it back: express-session's fields with `cookie.expires` as
 * an ISO string (express-session turns it back into a Date when it loads the session).
 */
export type StoredSessionRecord = { readonly cookie: Record<string, unknown> } & Record<string, unknown>;

/**
 * Parses a stored session. Anything that is not JSON of an object with a `cookie` object is
 * treated as no session at all: express-session would crash on it, and "not signed in" is
 * the safe reading of data we cannot trust.
 */
export function parseSessionRecord(text: string): StoredSessionRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const cookie = (value as { cookie?: unknown }).cookie;
  if (typeof cookie !== 'object' || cookie === null || Array.isArray(cookie)) return undefined;
  return value as StoredSessionRecord;
}

/**
 * Milliseconds the session should still be kept: until its cookie expires, or `lifetimeMs`
 * for a cookie without expiry (a browser-session cookie). Zero or less means "already over".
 */
export function sessionTtlMs(session: SessionData, lifetimeMs: number, now: number): number {
  // express-session hands over a Cookie with a Date; a session read back from JSON has a string.
  const expires: unknown = (session.cookie as { expires?: unknown } | undefined)?.expires;
  if (expires instanceof Date || typeof expires === 'string' || typeof expires === 'number') {
    const expiresAt = new Date(expires).getTime();
    if (Number.isFinite(expiresAt)) return expiresAt - now;
  }
  return lifetimeMs;
}
