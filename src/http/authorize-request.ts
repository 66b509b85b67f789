/**
 * Step 5 of the pipeline for protected paths: may this request's session use this route?
 * Shared by plain requests and WebSocket upgrades so both apply exactly the same rules.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { ResolvedSession, SessionResolver } from '../session/session-resolver.js';
import type { SessionRecord } from '../session/sessions.js';
import { evaluateRouteAccess, type InvitationCheck } from '../policy/access-policy.js';

export type AccessOutcome =
  | { readonly kind: 'allowed'; readonly identity: Identity; readonly session: SignedInSession }
  /** No session good enough: sign in (`step: 'passkey'`: signed in by code, the route wants a passkey). */
  | { readonly kind: 'unauthenticated'; readonly reason: string; readonly step?: 'passkey' }
  | { readonly kind: 'forbidden'; readonly email: string }
  | { readonly kind: 'unavailable'; readonly error: Error };

/** The session a request was let in with: what the activity record and the assertion need. */
export interface SignedInSession {
  readonly id: string;
  readonly record: SessionRecord;
}

export interface RequestAuthorizer {
  authorize(cookieHeader: string | undefined, route: RouteRuntime): Promise<AccessOutcome>;
  /** The decision without waiting when no store read is needed; undefined otherwise. */
  authorizeNow(cookieHeader: string | undefined, route: RouteRuntime): AccessOutcome | undefined;
}

export function createRequestAuthorizer(deps: {
  readonly sessions: () => SessionResolver;
  readonly config: () => GatewayConfig;
  readonly invitations?: () => InvitationCheck;
  readonly clock?: () => number;
}): RequestAuthorizer {
  const now = deps.clock ?? Date.now;
  function decide(session: ResolvedSession, route: RouteRuntime): AccessOutcome {
    if (session.kind === 'none') return { kind: 'unauthenticated', reason: 'no session' };
    if (session.kind === 'unavailable') return { kind: 'unavailable', error: session.error };
    const { email, signedInAt } = session.record;
    const maxAge = route.config.max_session_age;
    // Per-route sign-in age: a sensitive app can ask for a fresher proof of the inbox.
    if (maxAge !== null && now() - signedInAt >= maxAge) return { kind: 'unauthenticated', reason: 'sign-in too old for route' };
    const decision = evaluateRouteAccess(email, route.config, deps.config().groups, deps.invitations?.());
    if (!decision.allowed) return { kind: 'forbidden', email };
    // Step-up: whoever holds the inbox (or a code session) is not enough for this app.
    if (route.config.require === 'passkey' && !session.record.amr.includes('passkey')) return { kind: 'unauthenticated', reason: 'passkey required', step: 'passkey' };
    return { kind: 'allowed', identity: { email, groups: decision.groups }, session };
  }
  return {
    async authorize(cookieHeader, route) {
      return decide(await deps.sessions().resolve(cookieHeader), route);
    },
    authorizeNow(cookieHeader, route) {
      const session = deps.sessions().resolveNow(cookieHeader);
      return session === undefined ? undefined : decide(session, route);
    },
  };
}
