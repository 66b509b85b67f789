/**
 * Inbound headers are hostile. Any header a client sends that an app could read as the
 * gateway's statement of identity is removed before the gateway sets its own
 * (SPEC section 4). This module names them; upstream-request-headers.ts leaves them out.
 */
/** Identity headers the gateway sets, and common aliases apps read. */
export const IDENTITY_HEADER_NAMES: readonly string[] = [
  'x-auth-request-email',
  'x-auth-request-user',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-forwarded-email',
  'x-forwarded-user',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'remote-user',
  'x-remote-user',
];

/** Spells a header name the way the spoof check compares it: lower case, `_` and `.` as `-`. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') || lower.includes('.') ? lower.replace(/[_.]/g, '-') : lower;
}

/** The set of canonical names to strip for a route: identity names plus its configured headers. */
export function buildSpoofableHeaderSet(configuredHeaderNames: readonly string[]): ReadonlySet<string> {
  return new Set([...IDENTITY_HEADER_NAMES, ...configuredHeaderNames].map(canonicalHeaderName));
}
