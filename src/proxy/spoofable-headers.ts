/**
 * Inbound headers are hostile. Any header a client sends that an app could read as the
 * gateway's statement of identity is removed before the gateway sets its own, and so are
 * the routing overrides some frameworks obey, unless a trusted proxy sent them (SPEC section
 * 4). This module is the one table of those names; upstream-request-headers.ts applies it.
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

/**
 * Prefixes of header families that carry identity for one product or another; a client never
 * sends any of them legitimately (SPEC section 4). Compared on the canonical spelling.
 */
export const IDENTITY_HEADER_PREFIXES: readonly string[] = [
  'x-auth-request-', // oauth2-proxy, and ours
  'remote-', // Authelia: Remote-User, Remote-Email, Remote-Groups, Remote-Name
  'x-gatehouse-', // ours: X-Gatehouse-Assertion
  'cf-access-', // Cloudflare Access
  'x-pomerium-', // Pomerium
  'x-amzn-oidc-', // AWS ALB
  'x-goog-authenticated-', // Google IAP
];

/** Single names outside those families. */
const OTHER_IDENTITY_HEADERS = new Set(['x-webauth-user']);

/**
 * Headers some frameworks obey to change the URL or the client they think they serve
 * (IIS/Symfony `X-Original-URL`, Spring `X-Forwarded-Prefix`…). They pass only from a
 * trusted proxy; from anyone else they are removed, in any spelling.
 */
export const ROUTING_OVERRIDE_HEADERS: ReadonlySet<string> = new Set([
  'x-original-url',
  'x-rewrite-url',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-real-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'x-client-ip',
  'forwarded',
]);

/**
 * True for a canonical header name that could pass for the gateway's statement of identity:
 * a route's own set (identity names and its configured headers) or any identity family.
 * The first-letter test keeps the common case (accept, cookie, user-agent…) to one Set lookup.
 */
export function isIdentityHeader(canonical: string, spoofable: ReadonlySet<string>): boolean {
  if (spoofable.has(canonical)) return true;
  const first = canonical.charCodeAt(0);
  // x, r, c: the only first letters of the families.
  if (first !== 0x78 && first !== 0x72 && first !== 0x63) return false;
  if (OTHER_IDENTITY_HEADERS.has(canonical)) return true;
  for (const prefix of IDENTITY_HEADER_PREFIXES) if (canonical.startsWith(prefix)) return true;
  return false;
}

/** Spells a header name the way the spoof check compares it: lower case, `_` and `.` as `-`. */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') || lower.includes('.') ? lower.replace(/[_.]/g, '-') : lower;
}

/** The set of canonical names to strip for a route: identity names plus its configured headers. */
export function buildSpoofableHeaderSet(configuredHeaderNames: readonly string[]): ReadonlySet<string> {
  return new Set([...IDENTITY_HEADER_NAMES, ...configuredHeaderNames].map(canonicalHeaderName));
}
