/**
 * The request pipeline for everything that arrives on the gateway's listener, in the order
 * the security checks run. Read it top to bottom:
 *
 *   1. the request target must normalise (else 400): routing and policy use that one path
 *   2. the Host must be valid (else 400) and served here (else 404)
 *   3. `/.gatehouse/*` goes to the gateway's own pages, never upstream
 *   4. the longest matching route (else 404)
 *   5. access: public paths pass; everything else needs a valid session allowed on the
 *      route (302 to sign-in or 401, 403 not allowed, 503 when the store cannot answer)
 *   6. headers: hop-by-hop and spoofable identity headers out, forwarding and identity in
 *   7. forward to the upstream (502 unreachable, 504 timeout)
 *
 * Express is not on this path: only step 3 uses it.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import type { AccessLog } from '../log/access-log.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import { appNameOf } from '../config/schema.js';
import type { ProxyEngine, ProxyFailure } from '../proxy/proxy-engine.js';
import { normalizeRequestTarget } from '../routes/normalize-path.js';
import { parseHostHeader } from '../routes/host-header.js';
import { clientAddressOf, effectiveHost, effectiveProtocol } from '../proxy/forwarded-headers.js';
import { buildUpstreamRequestHeaders } from '../proxy/upstream-request-headers.js';
import { assignRequestId, createRequestContext, requestContextOf, type RequestContext } from './request-context.js';
import { acceptsHtml, pageLocaleFor, sendErrorResponse } from './pages.js';
import { applyHeaders } from './security-headers.js';
import { renderForbiddenPage } from './sign-in/sign-in-pages.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { AccessOutcome, RequestAuthorizer } from './authorize-request.js';
import type { GatewayErrorCode } from './errors.js';

export interface RequestHandlerDeps {
  readonly getState: () => GatewayState;
  readonly proxy: ProxyEngine;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Writes the one `request` line per request. */
  readonly accessLog: AccessLog;
  /** Decides whether a session may use a route (store lookup, lifetime, policy). */
  readonly access: RequestAuthorizer;
  /** Handles `/.gatehouse/*` (the Express app). */
  readonly gatehousePages: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** True while shutting down: responses ask clients to close their connections. */
  readonly isDraining: () => boolean;
  /** A signed-in request was let through (last-seen time, batched by the session directory). */
  readonly onSignedInRequest?: (sessionId: string, routeName: string) => void;
  /** Called after every response, e.g. so a draining server can close the now idle connection. */
  readonly onRequestDone: () => void;
}

const GATEHOUSE_PREFIX = '/.gatehouse/';
const GATEHOUSE_ASSETS_PREFIX = '/.gatehouse/assets/';

/**
 * True when the request has more than one Host header line (RFC 9112 section 3.2: answer 400).
 * Node keeps only the first, while a cache or app behind us might read the last one.
 */
export function hasRepeatedHostHeader(req: http.IncomingMessage): boolean {
  const raw = req.rawHeaders;
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** True for `/.gatehouse` and anything below it: reserved on every host, never proxied. */
export function isGatehousePath(path: string): boolean {
  return path.startsWith(GATEHOUSE_PREFIX) || path === '/.gatehouse';
}

/** Builds the listener's `request` handler. */
export function createRequestHandler(deps: RequestHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { proxy, metrics, logger } = deps;

  function logFinishedRequest(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext): void {
    metrics.countRequest(context.routeName, res.statusCode);
    deps.accessLog.write({
      requestId: context.requestId,
      method: req.method,
      host: req.headers.host,
      path: context.path,
      route: context.routeName,
      status: res.statusCode,
      durationMs: performance.now() - context.startedAt,
      outcome: context.outcome,
      aborted: !res.writableFinished,
    });
  }

  return function handleRequestSafely(req, res) {
    try {
      handleRequest(req, res);
    } catch (error) {
      // A bug must cost one request a 500, never the process or a stack trace on a page.
      logger.error({ event: 'request.crashed', error: error instanceof Error ? error.stack : String(error) });
      const state = deps.getState();
      sendErrorResponse(req, res, 'internal', { requestId: requestContextOf(req)?.requestId ?? '-', branding: state.config.branding, pageHeaders: state.pageHeaders });
    }
  };

  // The one `close` listener of a request, shared by all: log it, and if the client left
  // before the response finished, abort the upstream request too.
  function onResponseClose(this: http.ServerResponse): void {
    const req = this.req;
    const context = requestContextOf(req)!;
    if (!this.writableFinished) context.upstream?.abortUpstream();
    logFinishedRequest(req, this, context);
    deps.onRequestDone();
  }

  /** The gateway answers itself with an error page (or JSON). */
  function fail(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, state: GatewayState, code: GatewayErrorCode, outcome: string): void {
    context.outcome = outcome;
    sendErrorResponse(req, res, code, { requestId: context.requestId, branding: state.config.branding, pageHeaders: state.pageHeaders });
  }

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const state = deps.getState();
    const trusted = state.proxyTrust.isTrusted(req.socket);
    const context = createRequestContext(req, assignRequestId(req, trusted));
    res.on('close', onResponseClose);
    if (deps.isDraining()) res.shouldKeepAlive = false;

    // 1. One canonical path for routing, policy and forwarding (stops `..`/%2e%2e/%2F tricks).
    const target = normalizeRequestTarget(req.url ?? '');
    if (!target.ok) return fail(req, res, context, state, 'bad_request', `bad target: ${target.reason}`);
    context.path = target.path;

    // 2. Host: an unknown host is never sent to some default upstream.
    const protocol = effectiveProtocol(req, trusted);
    const hostHeader = effectiveHost(req, trusted);
    const host = parseHostHeader(hostHeader, protocol === 'https' ? 443 : 80);
    if (!host) return fail(req, res, context, state, 'bad_request', 'bad host');
    // Stops Host confusion: two Host lines could route here by one and be read by the app as the other.
    if (hasRepeatedHostHeader(req)) return fail(req, res, context, state, 'bad_request', 'repeated host');

    context.protocol = protocol;
    context.clientAddress = clientAddressOf(req, state.proxyTrust, trusted);
    context.hostHeader = hostHeader;
    context.query = target.query;

    // 3. The gateway's own pages.
    if (isGatehousePath(target.policyPath)) {
      context.externalOrigin = `${protocol}://${hostHeader!.toLowerCase()}`;
      // An unknown host gets only the stylesheets (its 404 page uses them), never a sign-in page.
      const known = state.knownHosts.has(`${host.hostname}:${host.port}`);
      if (!known && !target.policyPath.startsWith(GATEHOUSE_ASSETS_PREFIX)) return fail(req, res, context, state, 'unknown_route', 'unknown host');
      req.url = target.policyPath + target.query;
      return deps.gatehousePages(req, res);
    }

    // 4. Route.
    const match = state.routeTable.match(host.hostname, host.port, target.policyPath, target.query, target.path);
    if (!match) return fail(req, res, context, state, 'unknown_route', 'no route');
    const route = state.routes[match.index]!;
    context.routeName = route.name;

    // 5. Access: public paths pass at once; everything else needs a session that may use
    //    this route. The store is asked at most once; when it cannot answer, 503 (fail closed).
    if (match.isPublic) return forward(req, res, context, state, route, match.upstreamTarget, undefined, trusted);
    // Most requests are decided at once (session fresh in the cache); the rest wait for one store read.
    const now = deps.access.authorizeNow(req.headers.cookie, route);
    if (now !== undefined) return decide(req, res, context, state, route, match.upstreamTarget, trusted, now);
    void deps.access.authorize(req.headers.cookie, route).then(
      (access) => decide(req, res, context, state, route, match.upstreamTarget, trusted, access),
      (error: unknown) => {
        logger.error({ event: 'request.crashed', req_id: context.requestId, error: error instanceof Error ? error.stack : String(error) });
        fail(req, res, context, state, 'internal', 'crashed');
      },
    );
  }

  /** The URL to come back to; built only for the answers that need it, not per forwarded request. */
  function originalUrl(context: RequestContext): string {
    context.externalOrigin = `${context.protocol}://${context.hostHeader!.toLowerCase()}`;
    return context.externalOrigin + context.path + context.query;
  }

  /** Step 5's answer for a protected path. */
  function decide(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    context: RequestContext,
    state: GatewayState,
    route: RouteRuntime,
    upstreamTarget: string,
    trusted: boolean,
    access: AccessOutcome,
  ): void {
    if (res.destroyed) return;
    switch (access.kind) {
      case 'allowed':
        deps.onSignedInRequest?.(access.sessionId, route.name);
        return forward(req, res, context, state, route, upstreamTarget, access.identity, trusted);
      case 'unauthenticated':
        context.outcome = access.reason;
        return sendSignInRequired(req, res, context, originalUrl(context));
      case 'forbidden':
        context.outcome = 'not allowed';
        logger.info({ event: 'access.denied', req_id: context.requestId, route: route.name, email: access.email });
        return sendForbidden(req, res, context, state, route, access.email, originalUrl(context));
      case 'unavailable':
        logger.warn({ event: 'store.request_failed', req_id: context.requestId, error: access.error.message });
        return fail(req, res, context, state, 'store_unavailable', 'store unavailable');
    }
  }

  /** Steps 6 and 7: rewrite the headers for the app, then forward. */
  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    context: RequestContext,
    state: GatewayState,
    route: RouteRuntime,
    upstreamTarget: string,
    identity: Identity | undefined,
    trusted: boolean,
  ): void {
    const head = buildUpstreamRequestHeaders(req, {
      route,
      identity,
      requestId: context.requestId,
      protocol: context.protocol,
      hostHeader: context.hostHeader,
      trustedPeer: trusted,
      gatewayCookies: state.cookieNames.all,
      isUpgrade: false,
    });

    context.upstream = proxy.forward(req, res, route, upstreamTarget, head, {
      onUpstreamResponse: (seconds) => metrics.observeUpstreamLatency(route.name, seconds),
      onFailure: (failure: ProxyFailure, error: Error) => {
        if (failure === 'client_gone') {
          context.outcome = 'client gone';
          return;
        }
        logger.warn({ event: 'upstream.failed', req_id: context.requestId, route: route.name, failure, error: error.message });
        context.outcome = failure;
        sendErrorResponse(req, res, failure, { requestId: context.requestId, branding: state.config.branding, pageHeaders: state.pageHeaders });
      },
    });
  }
}

/**
 * No valid session: browsers asking for a page go to the sign-in page and come back to the
 * exact URL; everything else (APIs, forms, scripts) gets 401 JSON with the sign-in URL.
 */
function sendSignInRequired(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, originalUrl: string): void {
  const loginUrl = `${context.externalOrigin}/.gatehouse/login?rd=${encodeURIComponent(originalUrl)}`;
  res.setHeader('cache-control', 'no-store');
  if ((req.method === 'GET' || req.method === 'HEAD') && acceptsHtml(req)) {
    res.statusCode = 302;
    res.setHeader('location', loginUrl);
    res.setHeader('content-length', 0);
    res.end();
    return;
  }
  const body = JSON.stringify({ error: 'unauthenticated', login_url: loginUrl, request_id: context.requestId });
  res.statusCode = 401;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Signed in, but not allowed here: say as whom, and offer to sign in as someone else. */
function sendForbidden(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: RequestContext,
  state: GatewayState,
  route: RouteRuntime,
  email: string,
  originalUrl: string,
): void {
  res.statusCode = 403;
  res.setHeader('cache-control', 'no-store');
  let body: string;
  if (acceptsHtml(req)) {
    const locale = pageLocaleFor(req, state.config.branding);
    applyHeaders(res, state.pageHeaders);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-language', locale.language);
    body = renderForbiddenPage(locale, { email, appName: appNameOf(route.config), returnTo: originalUrl, requestId: context.requestId });
  } else {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('x-content-type-options', 'nosniff');
    body = JSON.stringify({
      error: 'forbidden',
      email,
      logout_url: `${context.externalOrigin}/.gatehouse/logout?rd=${encodeURIComponent(originalUrl)}`,
      request_id: context.requestId,
    });
  }
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
