/**
 * Who may use a route (SPEC section 2, `allow`). Addresses reaching here are already
 * normalised (trimmed, lower-case, IDN in ASCII), as are the patterns in the config.
 */
import type { GatewayConfig, RouteConfig } from '../config/schema.js';
import type { AllowPattern } from '../config/values.js';

export interface AccessDecision {
  readonly allowed: boolean;
  /** Names of the route's `group:` entries that contain the address (X-Auth-Request-Groups). */
  readonly groups: readonly string[];
}

type Groups = GatewayConfig['groups'];

/** Who is invited to which route (the invitations file); nobody when not configured. */
export interface InvitationCheck {
  isInvited(email: string, routeName: string): boolean;
}

export const NOBODY_INVITED: InvitationCheck = { isInvited: () => false };

/** True when a single pattern admits `email`. `*@domain` is that domain exactly, not subdomains. */
function patternAdmits(pattern: AllowPattern, email: string, groups: Groups, routeName: string, invitations: InvitationCheck): boolean {
  switch (pattern.kind) {
    case 'anyone':
      return true;
    case 'email':
      return pattern.email === email;
    case 'domain':
      return email.endsWith(`@${pattern.domain}`);
    case 'group':
      return (groups[pattern.group] ?? []).some((member) => patternAdmits(member, email, groups, routeName, invitations));
    case 'invited':
      // Checked on every request, so an expired or removed invitation ends access at once.
      return invitations.isInvited(email, routeName);
  }
}

/** Decides whether `email` may use `route`, and which of its groups it belongs to. */
export function evaluateRouteAccess(email: string, route: RouteConfig, groups: Groups, invitations: InvitationCheck = NOBODY_INVITED): AccessDecision {
  let allowed = false;
  const matchedGroups: string[] = [];
  for (const pattern of route.allow) {
    if (!patternAdmits(pattern, email, groups, route.name, invitations)) continue;
    allowed = true;
    if (pattern.kind === 'group' && !matchedGroups.includes(pattern.group)) matchedGroups.push(pattern.group);
  }
  return { allowed, groups: matchedGroups };
}

/** True when `email` may use at least one route: only such addresses are sent a code. */
export function mayUseSomeRoute(email: string, config: GatewayConfig, invitations: InvitationCheck = NOBODY_INVITED): boolean {
  return config.routes.some((route) => evaluateRouteAccess(email, route, config.groups, invitations).allowed);
}
