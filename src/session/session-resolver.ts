/**
 * Resolves the session of a request: verify the cookie signature (no store call for a forged
 * cookie), one store read through the cache, then the server-side rules — absolute lifetime
 * since sign-in whatever the activity, optional idle timeout. Reads and touches go through
 * the session owner (sessions.ts), so a touch can never bring an ended session back.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Clock } from '../store/key-value-store.js';
import { readCookie } from '../lib/cookies.js';
import { unsignSessionId } from './signed-cookie-value.js';
import type { SessionCache } from './session-cache.js';
import type { SessionRecord, Sessions } from './sessions.js';

export type ResolvedSession =
  | { readonly kind: 'none' }
  | { readonly kind: 'signed_in'; readonly id: string; readonly record: SessionRecord }
  /** The store could not be asked: fail closed (503), never let the request through. */
  | { readonly kind: 'unavailable'; readonly error: Error };

export interface SessionResolverDeps {
  readonly cookieName: () => string;
  readonly secrets: () => readonly string[];
  readonly settings: () => GatewayConfig['session'];
  /** The session cache in front of the store (one store round trip on a miss). */
  readonly cache: Pick<SessionCache, 'read' | 'peek'>;
  /** The session owner: activity for idle_timeout is noted through its touch-if-present. */
  readonly sessions: Pick<Sessions, 'touch'>;
  readonly clock?: Clock;
}

export interface SessionResolver {
  /** Resolves the session of a Cookie header: at most one store read. */
  resolve(cookieHeader: string | undefined): Promise<ResolvedSession>;
  /**
   * The same answer without waiting, when it needs no store read (no cookie, a bad
   * signature, or a session fresh in the cache); undefined when the store must be asked.
   * Most requests of a signed-in guest take this path.
   */
  resolveNow(cookieHeader: string | undefined): ResolvedSession | undefined;
  /** The session id a Cookie header names with a valid signature, or undefined (no store call). */
  sessionIdOf(cookieHeader: string | undefined): string | undefined;
}

const NONE: ResolvedSession = { kind: 'none' };
// Verified cookie values, so a busy guest's signature is checked once, not per request.
const VERIFIED_COOKIES_MAX = 10_000;

export function createSessionResolver(deps: SessionResolverDeps): SessionResolver {
  const now = deps.clock ?? Date.now;
  let verifiedFor: readonly string[] | undefined;
  const verified = new Map<string, string>();

  /** The session id of a signed cookie value, or undefined for a forged or tampered one. */
  function sessionIdOf(raw: string): string | undefined {
    const secrets = deps.secrets();
    // A reload that drops a secret must not keep cookies signed with it alive.
    if (secrets !== verifiedFor) {
      verified.clear();
      verifiedFor = secrets;
    }
    const known = verified.get(raw);
    if (known !== undefined) return known;
    const id = unsignSessionId(raw, secrets);
    if (id !== undefined) {
      if (verified.size >= VERIFIED_COOKIES_MAX) verified.delete(verified.keys().next().value!);
      verified.set(raw, id);
    }
    return id;
  }

  /** The server-side rules, applied to every request whether the record came from cache or store. */
  function judge(id: string, stored: SessionRecord | undefined): ResolvedSession {
    if (stored === undefined) return NONE;
    const settings = deps.settings();
    const time = now();
    // Absolute lifetime: a stolen or forgotten session dies on schedule, however active.
    if (time >= stored.signedInAt + settings.lifetime || time >= stored.expiresAt) return NONE;
    if (settings.idle_timeout !== null) {
      if (time >= stored.lastSeenAt + settings.idle_timeout) return NONE;
      // One write per minute at most (or a tenth of the idle timeout), not one per request.
      if (time - stored.lastSeenAt >= Math.min(60_000, settings.idle_timeout / 10)) {
        stored.lastSeenAt = time;
        // Only if the record still exists: a session ended elsewhere stays ended.
        deps.sessions.touch(id, stored, time).catch(() => undefined);
      }
    }
    return { kind: 'signed_in', id, record: stored };
  }

  function idFromHeader(cookieHeader: string | undefined): string | undefined {
    const raw = readCookie(cookieHeader, deps.cookieName());
    return raw === undefined ? undefined : sessionIdOf(raw);
  }

  return {
    sessionIdOf: idFromHeader,
    resolveNow(cookieHeader) {
      const id = idFromHeader(cookieHeader);
      if (id === undefined) return NONE;
      const cached = deps.cache.peek(id);
      return cached === undefined ? undefined : judge(id, cached);
    },
    async resolve(cookieHeader) {
      const id = idFromHeader(cookieHeader);
      if (id === undefined) return NONE;
      let stored: SessionRecord | undefined;
      try {
        stored = await deps.cache.read(id);
      } catch (error) {
        return { kind: 'unavailable', error: error instanceof Error ? error : new Error(String(error)) };
      }
      return judge(id, stored);
    },
  };
}
