/**
 * Step 6 of the pipeline: the header block the app receives, built in one pass over the
 * headers exactly as the client sent them (names in their own spelling, repeated lines kept),
 * shared by plain requests and WebSocket upgrades so both send the app the same thing:
 *
 *   - Host first: the upstream's, or the client's with `preserve_host`;
 *   - out: hop-by-hop headers and every name `Connection` lists (RFC 9110 section 7.6.1),
 *     every client spelling of an identity or configured header (`X-Auth-Request-Email`,
 *     `x_auth_request_email`, `X.Forwarded.User`...), the gateway's own cookies, and the
 *     forwarding headers the gateway states itself (an untrusted client's are not believed);
 *   - in: X-Forwarded-For/-Proto/-Host, the identity headers, the route's templates and
 *     X-Request-Id.
 *
 * The result is a flat `[name, value, ...]` list that `http.request` writes as it is: the
 * client's request object is read, never modified (docs/performance.md).
 */
import type http from 'node:http';
import type { AppConnection, RouteRuntime } from './route-runtime.js';
import { canonicalHeaderName, isIdentityHeader, ROUTING_OVERRIDE_HEADERS } from './spoofable-headers.js';
import { appendIdentityHeaders, type Identity } from './identity-headers.js';
import { peerAddress } from './forwarded-headers.js';
import { removeCookies } from '../lib/cookies.js';
import { addConnectionListedNames, removeNamedHeaders } from './connection-header.js';

export interface UpstreamRequestFacts {
  readonly route: RouteRuntime;
  /** The route's app, which the request goes to. */
  readonly app: AppConnection;
  /** The signed identity (assertion.header), when the request is signed in and assertions are on. */
  readonly assertion?: { readonly header: string; readonly token: string };
  readonly identity: Identity | undefined;
  readonly requestId: string;
  readonly protocol: 'http' | 'https';
  /** The Host the client asked for (the trusted proxy's X-Forwarded-Host, or Host). */
  readonly hostHeader: string | undefined;
  readonly trustedPeer: boolean;
  /** Names of the gateway's own cookies. */
  readonly gatewayCookies: ReadonlySet<string>;
  readonly isUpgrade: boolean;
}

export interface UpstreamRequestHead {
  /** `[name, value, name, value, ...]`, for `http.request({ headers })`. */
  readonly headers: string[];
  /** The client asked to close its connection (`Connection: close`). */
  readonly clientWantsClose: boolean;
  /** The request announces a body (Content-Length other than 0, or Transfer-Encoding). */
  readonly hasBody: boolean;
}

/** What happens to a client header, by lower-case name. Names not listed pass unchanged. */
const enum Rule {
  /** Connection-scoped (hop-by-hop), or stated by the gateway itself: never passed on. */
  Drop = 1,
  Connection,
  Upgrade,
  Host,
  Cookie,
  ForwardedFor,
  /** RFC 7239 Forwarded, X-Real-IP and the other routing overrides: passed on only from a trusted proxy. */
  TrustedOnly,
  ContentLength,
  TransferEncoding,
}

const RULES = new Map<string, Rule>([
  ['connection', Rule.Connection],
  ['keep-alive', Rule.Drop],
  ['proxy-connection', Rule.Drop],
  ['te', Rule.Drop],
  ['trailer', Rule.Drop],
  // Node's server has already answered `100 Continue` (or the client sends regardless);
  // the expectation was the client's of this hop, not of the app.
  ['expect', Rule.Drop],
  ['upgrade', Rule.Upgrade],
  ['proxy-authorization', Rule.Drop],
  ['host', Rule.Host],
  ['cookie', Rule.Cookie],
  ['x-forwarded-for', Rule.ForwardedFor],
  ['x-forwarded-proto', Rule.Drop],
  ['x-forwarded-host', Rule.Drop],
  ['x-request-id', Rule.Drop],
  ...[...ROUTING_OVERRIDE_HEADERS].map((name) => [name, Rule.TrustedOnly] as const),
  ['content-length', Rule.ContentLength],
  ['transfer-encoding', Rule.TransferEncoding],
]);

/** Headers the gateway states about the connection; a `_` or `.` spelling of them never passes. */
const GATEWAY_STATED_HEADERS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id', ...ROUTING_OVERRIDE_HEADERS]);

/**
 * True for a client header that could pass for identity (in any spelling), or a `_` or `.`
 * spelling of a header the gateway states (`X.Forwarded.For`, `x_original_url`): some app
 * servers (CGI-style, Puma CVE-2024-45614) read those as `-`.
 */
function isSpoofedHeader(lowerName: string, spoofable: ReadonlySet<string>): boolean {
  if (!lowerName.includes('_') && !lowerName.includes('.')) return isIdentityHeader(lowerName, spoofable);
  const canonical = canonicalHeaderName(lowerName);
  return isIdentityHeader(canonical, spoofable) || GATEWAY_STATED_HEADERS.has(canonical);
}

const CLOSE_TOKEN = /(?:^|,)\s*close\s*(?:,|$)/i;

/** Builds the header block for the upstream request of `req`. */
export function buildUpstreamRequestHeaders(req: http.IncomingMessage, facts: UpstreamRequestFacts): UpstreamRequestHead {
  const { route } = facts;
  const spoofable = route.spoofableHeaders;
  const raw = req.rawHeaders;
  const out: string[] = ['Host', ''];
  let clientWantsClose = false;
  let listed: Set<string> | undefined;
  let upgrade: string | undefined;
  let forwardedFor: string | undefined;
  let hasBody = false;
  let clientHost = '';

  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    switch (RULES.get(lower)) {
      case undefined:
        if (isSpoofedHeader(lower, spoofable)) continue;
        out.push(name, value);
        continue;
      case Rule.Drop:
        continue;
      case Rule.Connection:
        if (CLOSE_TOKEN.test(value)) clientWantsClose = true;
        listed = addConnectionListedNames(value, listed);
        continue;
      case Rule.Upgrade:
        upgrade ??= value;
        continue;
      case Rule.Host:
        // Repeated Host lines were refused before this point; the first one is the Host.
        if (!clientHost) clientHost = value;
        continue;
      case Rule.Cookie: {
        // The app must never see (or log, or leak) the gateway's session cookie.
        const kept = removeCookies(value, facts.gatewayCookies);
        if (kept !== undefined) out.push(name, kept);
        continue;
      }
      case Rule.ForwardedFor:
        if (facts.trustedPeer) forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        continue;
      case Rule.TrustedOnly:
        if (facts.trustedPeer) out.push(name, value);
        continue;
      case Rule.ContentLength:
        if (value !== '0') hasBody = true;
        out.push(name, value);
        continue;
      case Rule.TransferEncoding:
        // Framing is per hop: the body goes on chunked, framed by the upstream client.
        hasBody = true;
        continue;
    }
  }

  // After Host (index 0), which a Connection header cannot remove.
  if (listed !== undefined) removeNamedHeaders(out, listed, 2);

  out[1] = route.config.preserve_host ? clientHost : facts.app.upstreamHostHeader;
  const address = peerAddress(req);
  out.push('X-Forwarded-For', forwardedFor === undefined ? address : `${forwardedFor}, ${address}`);
  out.push('X-Forwarded-Proto', facts.protocol);
  if (facts.hostHeader) out.push('X-Forwarded-Host', facts.hostHeader);
  appendIdentityHeaders(out, facts.identity, route.name, route.headerTemplates);
  if (facts.assertion) out.push(facts.assertion.header, facts.assertion.token);
  out.push('X-Request-Id', facts.requestId);
  if (facts.isUpgrade) {
    // The handshake itself: Connection: upgrade and the protocol asked for.
    out.push('Connection', 'upgrade');
    if (upgrade !== undefined) out.push('Upgrade', upgrade);
  }
  return { headers: out, clientWantsClose, hasBody };
}
