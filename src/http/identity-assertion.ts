/**
 * The signed identity of a request the admission let in signed in: the facts the assertion
 * states (assertion-signer.ts) taken from the route, the identity and the session.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { AssertionSigner } from '../assertion/assertion-signer.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { SignedInSession } from './authorize-request.js';

export interface AssertionIssuer {
  /**
   * The assertion: at once when a fresh one is cached, else a promise of one; undefined when
   * assertions are off. The promise rejects when no signing key could be read yet.
   */
  assertionFor(route: RouteRuntime, identity: Identity, session: SignedInSession): string | Promise<string> | undefined;
}

export function createAssertionIssuer(deps: { readonly signer: AssertionSigner; readonly settings: () => GatewayConfig['assertion'] }): AssertionIssuer {
  return {
    assertionFor(route, identity, session) {
      if (!deps.settings().enabled) return undefined;
      const { record } = session;
      return deps.signer.assertionFor({
        origin: route.config.from.origin,
        routeName: route.name,
        email: identity.email,
        groups: identity.groups,
        sessionId: session.id,
        signedInAt: record.signedInAt,
        sessionExpiresAt: record.expiresAt,
        amr: record.amr,
      });
    },
  };
}
