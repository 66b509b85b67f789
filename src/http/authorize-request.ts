/**
 * Step 5 of the pipeline for protected paths: may this request's session use this route?
 * Shared by plain requests and WebSocket upgrades so both apply exactly the same rules.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { ResolvedSession, SessionResolver } from '../session/session-resolver.js';
import { evaluateRouteAccess, type InvitationCheck } from '../policy/access-policy.js';

export type AccessOutcome =
  | { readonly kind: 'allowed'; readonly identity: Identity; readonly sessionId: string }
  | { readonly kind: 'unauthenticated'; readonly reason: string }
  | { readonly kind: 'forbidden'; readonly email: string }
  | { readonly kind: 'unavailable'; readonly error: Error };

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
    const maxAge = route.config.max_session_age;
    // Per-route sign-in age: a sensitive app can ask for a fresher proof of the inbox.
    if (maxAge !== null && now() - session.signedInAt >= maxAge) return { kind: 'unauthenticated', reason: 'sign-in too old for route' };
    const decision = evaluateRouteAccess(session.email, route.config, deps.config().groups, deps.invitations?.());
    if (!decision.allowed) return { kind: 'forbidden', email: session.email };
    return { kind: 'allowed', identity: { email: session.email, groups: decision.groups }, sessionId: session.id };
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
