/**
 * Plain requests: the admission steps (admission.ts, shared with WebSocket upgrades), then
 * the answer — the gateway's own pages, an error page, the sign-in redirect, the 403 page —
 * or the forward: headers rewritten for the app (hop-by-hop and spoofable identity headers
 * out, forwarding and identity in), then the upstream (502 unreachable, 504 timeout).
 *
 * Express is not on this path: only the gateway's own pages use it.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import type { AccessLog } from '../log/access-log.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import { appNameOf } from '../config/schema.js';
import type { ProxyEngine, ProxyFailure } from '../proxy/proxy-engine.js';
import { buildUpstreamRequestHeaders } from '../proxy/upstream-request-headers.js';
import { assignRequestId, createRequestContext, requestContextOf, type RequestContext } from './request-context.js';
import { acceptsHtml, pageLocaleFor, sendErrorResponse } from './pages.js';
import { applyHeaders } from './security-headers.js';
import { renderForbiddenPage } from './sign-in/sign-in-pages.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { RequestAuthorizer } from './authorize-request.js';
import { admit, type Admission } from './admission.js';

export { hasRepeatedHostHeader, isGatehousePath } from './admission.js';

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
  function fail(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, state: GatewayState, code: Parameters<typeof sendErrorResponse>[2], outcome: string): void {
    context.outcome = outcome;
    sendErrorResponse(req, res, code, { requestId: context.requestId, branding: state.config.branding, pageHeaders: state.pageHeaders });
  }

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const state = deps.getState();
    const trusted = state.proxyTrust.isTrusted(req.socket);
    const context = createRequestContext(req, assignRequestId(req, trusted));
    res.on('close', onResponseClose);
    if (deps.isDraining()) res.shouldKeepAlive = false;
    const admission = admit(req, context, state, 'request', trusted, deps);
    // Most requests are decided at once (session fresh in the cache); the rest wait for one store read.
    if (!(admission instanceof Promise)) return answer(req, res, context, state, trusted, admission);
    admission.then(
      (decided) => answer(req, res, context, state, trusted, decided),
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

  /** The admission's outcome, as a plain request is answered. */
  function answer(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, state: GatewayState, trusted: boolean, admission: Admission): void {
    if (res.destroyed) return;
    switch (admission.kind) {
      case 'forward':
        if (admission.sessionId !== undefined) deps.onSignedInRequest?.(admission.sessionId, admission.route.name);
        return forward(req, res, context, state, admission.route, admission.upstreamTarget, admission, trusted);
      case 'pages':
        return deps.gatehousePages(req, res);
      case 'refuse':
        if (admission.code === 'store_unavailable') logger.warn({ event: 'store.request_failed', req_id: context.requestId, error: admission.detail });
        return fail(req, res, context, state, admission.code, admission.outcome);
      case 'sign_in':
        context.outcome = admission.reason;
        return sendSignInRequired(req, res, context, originalUrl(context));
      case 'forbidden':
        context.outcome = 'not allowed';
        logger.info({ event: 'access.denied', req_id: context.requestId, route: admission.route.name, email: admission.email });
        return sendForbidden(req, res, context, state, admission.route, admission.email, originalUrl(context));
    }
  }

  /** Rewrite the headers for the app, then forward. */
  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    context: RequestContext,
    state: GatewayState,
    route: RouteRuntime,
    upstreamTarget: string,
    admission: Extract<Admission, { kind: 'forward' }>,
    trusted: boolean,
  ): void {
    const head = buildUpstreamRequestHeaders(req, {
      route,
      identity: admission.identity,
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
