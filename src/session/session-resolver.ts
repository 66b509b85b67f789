/**
 * Resolves the session of a proxied request on the hot path: verify the cookie signature
 * (no store call for a forged cookie), one store read, then the server-side rules —
 * absolute lifetime since sign-in whatever the activity, optional idle timeout. Express and
 * express-session are not involved; they only write sessions, on the sign-in pages.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Clock } from '../store/key-value-store.js';
import { readCookie } from '../http/cookies.js';
import { unsignSessionId } from './signed-cookie-value.js';

/** What the gateway keeps in a signed-in session (besides express-session's `cookie`). */
export interface SignedInSessionData {
  readonly email: string;
  /** Epoch ms of the sign-in; the absolute lifetime counts from here. */
  readonly signedInAt: number;
  /** Epoch ms of the last request seen (kept only with idle_timeout). */
  lastSeenAt?: number;
}

export type ResolvedSession =
  | { readonly kind: 'none' }
  | { readonly kind: 'signed_in'; readonly id: string; readonly email: string; readonly signedInAt: number }
  /** The store could not be asked: fail closed (503), never let the request through. */
  | { readonly kind: 'unavailable'; readonly error: Error };

export interface SessionResolverDeps {
  readonly cookieName: () => string;
  readonly secrets: () => readonly string[];
  readonly settings: () => GatewayConfig['session'];
  /** One store round trip: the stored session, or undefined. Rejects when the store is down. */
  readonly readSession: (id: string) => Promise<unknown>;
  /** Records activity for idle_timeout (throttled by the caller's rules below). */
  readonly touchSession: (id: string, data: SignedInSessionData & Record<string, unknown>) => Promise<void>;
  readonly clock?: Clock;
}

export interface SessionResolver {
  resolve(cookieHeader: string | undefined): Promise<ResolvedSession>;
}

function isSignedInSession(value: unknown): value is SignedInSessionData & Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.email === 'string' && typeof record.signedInAt === 'number';
}

const NONE: ResolvedSession = { kind: 'none' };

export function createSessionResolver(deps: SessionResolverDeps): SessionResolver {
  const now = deps.clock ?? Date.now;
  return {
    async resolve(cookieHeader) {
      const raw = readCookie(cookieHeader, deps.cookieName());
      if (raw === undefined) return NONE;
      const id = unsignSessionId(raw, deps.secrets());
      if (id === undefined) return NONE;
      let stored: unknown;
      try {
        stored = await deps.readSession(id);
      } catch (error) {
        return { kind: 'unavailable', error: error instanceof Error ? error : new Error(String(error)) };
      }
      if (!isSignedInSession(stored)) return NONE;
      const settings = deps.settings();
      const time = now();
      // Absolute lifetime: a stolen or forgotten session dies on schedule, however active.
      if (time >= stored.signedInAt + settings.lifetime) return NONE;
      if (settings.idle_timeout !== null) {
        const lastSeen = stored.lastSeenAt ?? stored.signedInAt;
        if (time >= lastSeen + settings.idle_timeout) return NONE;
        // One write per minute at most (or a tenth of the idle timeout), not one per request.
        if (time - lastSeen >= Math.min(60_000, settings.idle_timeout / 10)) {
          stored.lastSeenAt = time;
          deps.touchSession(id, stored).catch(() => undefined);
        }
      }
      return { kind: 'signed_in', id, email: stored.email, signedInAt: stored.signedInAt };
    },
  };
}
