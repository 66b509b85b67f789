/**
 * Admission: the one list of steps every request passes before the gateway answers it or
 * forwards it — plain requests, WebSocket upgrades, and the requests a front proxy asks
 * about through forward-auth. Each way in answers the outcome in its own form (a page or
 * JSON on a response, a raw answer on an upgrade's socket, a status and identity headers to
 * a front proxy); none has steps of its own. Read it top to bottom:
 *
 *   0. (upgrade) a gateway that is shutting down opens no new WebSockets: 503
 *   0. (forward-auth) only a peer in `trust_proxy` may ask (else 403), and the original request
 *      is read from the headers of the endpoint asked (forward-auth-question.ts; else 400).
 *      The steps below then decide about that original request.
 *   1. the request target must normalise (else 400): routing and policy use its policy path
 *   2. the Host must be valid and given once (else 400)
 *   3. `/.gatehouse/*` is the gateway's own (pages; an upgrade or a forward-auth question
 *      about it is 404); an unknown host gets only the stylesheets and the JWKS
 *   4. the longest matching route (else 404); a route without `to` is only reached through
 *      forward-auth (else 404)
 *   5. (WebSocket) the route takes WebSockets (else 403), and a browser's `Origin` is one of
 *      the route origins (else 403: cross-site WebSocket hijacking)
 *   6. public paths pass; everything else needs a session allowed on the route (sign in, 403,
 *      or 503 when the store cannot answer: fail closed); on a `require: passkey` route, one
 *      that used a passkey (else the step-up page)
 *
 * What the steps learn about the request goes into its RequestContext.
 */
import type http from 'node:http';
import type { GatewayState } from '../gateway-state.js';
import { normalizeRequestTarget } from '../paths/normalize-path.js';
import { parseHostHeader } from '../routes/host-header.js';
import { clientAddressOf, effectiveHost, effectiveProtocol } from '../proxy/forwarded-headers.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { RequestContext } from './request-context.js';
import type { AccessOutcome, RequestAuthorizer, SignedInSession } from './authorize-request.js';
import type { GatewayErrorCode } from './errors.js';
import { hasRepeatedHostHeader } from './repeated-headers.js';
import { FORWARD_AUTH_PREFIX, questionOf, readOriginalRequest, type RequestUnderDecision } from './forward-auth-question.js';

export type Admission =
  /** The gateway answers with this error; `outcome` (and `detail`, an error message) are for the log. */
  | { readonly kind: 'refuse'; readonly code: GatewayErrorCode; readonly outcome: string; readonly detail?: string }
  /** One of the gateway's own URLs. */
  | { readonly kind: 'pages' }
  /**
   * Forward to the route's app, as this identity (undefined on a public path); to a
   * forward-auth question, the answer "may pass".
   */
  | { readonly kind: 'forward'; readonly route: RouteRuntime; readonly upstreamTarget: string; readonly identity: Identity | undefined; readonly session: SignedInSession | undefined }
  /** No valid session: the guest must sign in (`step: 'passkey'`: with a passkey, for a `require: passkey` route). */
  | { readonly kind: 'sign_in'; readonly route: RouteRuntime; readonly reason: string; readonly step?: 'passkey' }
  /** Signed in, but this address may not use the route. */
  | { readonly kind: 'forbidden'; readonly route: RouteRuntime; readonly email: string };

export type WayIn = 'request' | 'upgrade';

export interface AdmissionDeps {
  /** Decides whether a session may use a route (store lookup, lifetime, policy). */
  readonly access: RequestAuthorizer;
  readonly isDraining: () => boolean;
}

const GATEHOUSE_PREFIX = '/.gatehouse/';
const GATEHOUSE_ASSETS_PREFIX = '/.gatehouse/assets/';
const JWKS_PATH = '/.gatehouse/jwks.json';

/** What any Host gets: the stylesheets (a 404 page uses them) and the public keys apps fetch. */
function servedOnAnyHost(path: string): boolean {
  return path.startsWith(GATEHOUSE_ASSETS_PREFIX) || path === JWKS_PATH;
}

/** True for `/.gatehouse` and anything below it: reserved on every host, never proxied. */
export function isGatehousePath(path: string): boolean {
  return path.startsWith(GATEHOUSE_PREFIX) || path === '/.gatehouse';
}

export { hasRepeatedHostHeader };

function refuse(code: GatewayErrorCode, outcome: string): Admission {
  return { kind: 'refuse', code, outcome };
}

/**
 * Runs the steps for `req`. Returns the outcome at once when no store read is needed (most
 * requests: no cookie, a bad one, or a session fresh in the cache), else a promise of it.
 * For a forward-auth question the outcome is about the original request, and
 * `context.question` says which endpoint was asked.
 */
export function admit(req: http.IncomingMessage, context: RequestContext, state: GatewayState, wayIn: WayIn, trusted: boolean, deps: AdmissionDeps): Admission | Promise<Admission> {
  // 0. A WebSocket opened now would be cut at the end of the grace period.
  if (wayIn === 'upgrade' && deps.isDraining()) return refuse('shutting_down', 'draining');
  const url = req.url ?? '';
  context.clientAddress = clientAddressOf(req, state.proxyTrust, trusted);

  // 0. Forward-auth: a front proxy asks about the request it holds.
  if (wayIn === 'request' && url.startsWith(FORWARD_AUTH_PREFIX)) {
    const question = questionOf(url);
    if (question !== undefined) {
      context.question = question;
      // Anyone else could ask about made-up requests, or learn who a cookie belongs to.
      if (!trusted) return refuse('forward_auth_untrusted', 'forward-auth from an untrusted peer');
      const asked = readOriginalRequest(req, question);
      if (!asked.ok) return refuse('bad_request', `forward-auth: ${asked.reason}`);
      return decide(req, asked.original, context, state, deps);
    }
  }
  return decide(
    req,
    {
      target: url,
      method: req.method ?? 'GET',
      protocol: effectiveProtocol(req, trusted),
      hostHeader: effectiveHost(req, trusted),
      hostRepeated: hasRepeatedHostHeader(req),
      webSocket: wayIn === 'upgrade',
    },
    context,
    state,
    deps,
  );
}

/** Steps 1 to 6, for the request on the wire or the one a forward-auth question is about. */
function decide(req: http.IncomingMessage, request: RequestUnderDecision, context: RequestContext, state: GatewayState, deps: AdmissionDeps): Admission | Promise<Admission> {
  const asked = context.question !== undefined;

  // 1. One canonical path for routing, policy and forwarding (stops `..`/%2e%2e/%2F/`;` tricks).
  const target = normalizeRequestTarget(request.target);
  if (!target.ok) return refuse('bad_request', `bad target: ${target.reason}`);
  context.path = target.path;

  // 2. Host: an unknown host is never sent to some default upstream.
  const { protocol, hostHeader } = request;
  const host = parseHostHeader(hostHeader, protocol === 'https' ? 443 : 80);
  if (!host) return refuse('bad_request', 'bad host');
  // Stops Host confusion: two Host lines could route here by one and be read by the app as the other.
  if (request.hostRepeated) return refuse('bad_request', 'repeated host');
  context.protocol = protocol;
  context.method = request.method;
  context.hostHeader = hostHeader;
  context.query = target.query;

  // 3. The gateway's own URLs.
  if (isGatehousePath(target.policyPath)) {
    if (request.webSocket) return refuse('unknown_route', 'gatehouse path');
    // The front proxy must send these to the gateway itself, not ask about them.
    if (asked) return refuse('unknown_route', 'forward-auth asked about a /.gatehouse/ URL');
    context.externalOrigin = `${protocol}://${hostHeader!.toLowerCase()}`;
    // An unknown host (e.g. the gateway's own name, for an app fetching the JWKS) never gets a
    // sign-in page.
    const known = state.knownHosts.has(`${host.hostname}:${host.port}`);
    if (!known && !servedOnAnyHost(target.policyPath)) return refuse('unknown_route', 'unknown host');
    req.url = target.policyPath + target.query;
    return { kind: 'pages' };
  }

  // 4. Route.
  const match = state.routeTable.match(host.hostname, host.port, target.policyPath, target.query, target.path);
  if (!match) return refuse('unknown_route', 'no route');
  const route = state.routes[match.index]!;
  context.routeName = route.name;
  // A route without an app is only there to answer forward-auth.
  if (route.app === undefined && !asked) return refuse('unknown_route', 'forward-auth only route');

  // 5. WebSockets: allowed here, and not opened by another site's page with the guest's cookie.
  if (request.webSocket) {
    if (!route.config.websockets) return refuse('websockets_disabled', 'websockets off');
    const origin = req.headers.origin;
    // Browsers always send Origin on a WebSocket; a script outside a browser has no cookie to ride on.
    if (origin !== undefined && !state.routeOrigins.has(origin.toLowerCase())) return refuse('cross_site_websocket', 'foreign origin');
  }

  // 6. Access: public paths pass at once; everything else needs a session that may use
  //    this route. The store is asked at most once; when it cannot answer, 503 (fail closed).
  if (match.isPublic) return { kind: 'forward', route, upstreamTarget: match.upstreamTarget, identity: undefined, session: undefined };
  const decided = deps.access.authorizeNow(req.headers.cookie, route);
  if (decided !== undefined) return outcomeOf(route, match.upstreamTarget, decided);
  return deps.access.authorize(req.headers.cookie, route).then((access) => outcomeOf(route, match.upstreamTarget, access));
}

function outcomeOf(route: RouteRuntime, upstreamTarget: string, access: AccessOutcome): Admission {
  switch (access.kind) {
    case 'allowed':
      return { kind: 'forward', route, upstreamTarget, identity: access.identity, session: access.session };
    case 'unauthenticated':
      return { kind: 'sign_in', route, reason: access.reason, step: access.step };
    case 'forbidden':
      return { kind: 'forbidden', route, email: access.email };
    case 'unavailable':
      return { kind: 'refuse', code: 'store_unavailable', outcome: 'store unavailable', detail: access.error.message };
  }
}
