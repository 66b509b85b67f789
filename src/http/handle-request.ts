/**
 * Plain requests: the admission steps (admission.ts, shared with WebSocket upgrades and
 * forward-auth questions), then the answer — the gateway's own pages, an error page, the
 * sign-in redirect, the 403 page, a forward-auth answer (forward-auth-answer.ts) — or the
 * forward: headers rewritten for the app (hop-by-hop and spoofable identity headers out,
 * forwarding, identity and the signed assertion in), then the upstream (502 unreachable,
 * 504 timeout).
 *
 * Express is not on this path: only the gateway's own pages use it.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import type { AccessLog } from '../log/access-log.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import type { ProxyEngine, ProxyFailure } from '../proxy/proxy-engine.js';
import { buildUpstreamRequestHeaders } from '../proxy/upstream-request-headers.js';
import { assignRequestId, createRequestContext, requestContextOf, type RequestContext } from './request-context.js';
import { sendErrorResponse } from './pages.js';
import type { RequestAuthorizer } from './authorize-request.js';
import { admit, type Admission } from './admission.js';
import { originalUrlOf, sendForbidden, sendSignInRequired } from './access-answers.js';
import { answerMayPass, answerNotAllowed, answerSignInFirst } from './forward-auth-answer.js';
import type { AssertionIssuer } from './identity-assertion.js';

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
  /** The signed identity of a signed-in request. */
  readonly assertions: AssertionIssuer;
  /** Handles `/.gatehouse/*` (the Express app). */
  readonly gatehousePages: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** True while shutting down (the connections themselves are drained by connection-drain). */
  readonly isDraining: () => boolean;
  /** A signed-in request was let through (last-seen time, batched by the session directory). */
  readonly onSignedInRequest?: (sessionId: string, routeName: string) => void;
}

/** Builds the listener's `request` handler. */
export function createRequestHandler(deps: RequestHandlerDeps): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { proxy, metrics, logger } = deps;

  function logFinishedRequest(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext): void {
    metrics.countRequest(context.routeName, res.statusCode);
    deps.accessLog.write({
      requestId: context.requestId,
      // A question is logged as the request it was about.
      method: context.question === undefined ? req.method : context.method,
      host: context.question === undefined ? req.headers.host : context.hostHeader,
      path: context.path,
      route: context.routeName,
      question: context.question,
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

  /** The admission's outcome, as a plain request (or a forward-auth question) is answered. */
  function answer(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, state: GatewayState, trusted: boolean, admission: Admission): void {
    if (res.destroyed) return;
    switch (admission.kind) {
      case 'forward': {
        const { route, identity, session } = admission;
        if (session !== undefined) deps.onSignedInRequest?.(session.id, route.name);
        const assertion = identity && session ? deps.assertions.assertionFor(route, identity, session) : undefined;
        // Signed once per session and route, then reused: most requests take the first branch.
        if (!(assertion instanceof Promise)) return pass(req, res, context, state, admission, trusted, assertion);
        assertion.then(
          (token) => {
            if (!res.destroyed) pass(req, res, context, state, admission, trusted, token);
          },
          (error: unknown) => {
            logger.warn({ event: 'assertion.unavailable', req_id: context.requestId, error: error instanceof Error ? error.message : String(error) });
            fail(req, res, context, state, 'store_unavailable', 'assertion keys unavailable');
          },
        );
        return;
      }
      case 'pages':
        return deps.gatehousePages(req, res);
      case 'refuse':
        if (admission.code === 'store_unavailable') logger.warn({ event: 'store.request_failed', req_id: context.requestId, error: admission.detail });
        return fail(req, res, context, state, admission.code, admission.outcome);
      case 'sign_in':
        context.outcome = admission.reason;
        if (context.question !== undefined) return answerSignInFirst(req, res, context, admission.step);
        return sendSignInRequired(req, res, context, originalUrlOf(context), admission.step);
      case 'forbidden':
        context.outcome = 'not allowed';
        logger.info({ event: 'access.denied', req_id: context.requestId, route: admission.route.name, email: admission.email });
        if (context.question !== undefined) return answerNotAllowed(req, res, context, state, admission);
        return sendForbidden(req, res, context, state, admission.route, admission.email, originalUrlOf(context));
    }
  }

  /** Let in: to a forward-auth question, "may pass"; otherwise on to the app. */
  function pass(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    context: RequestContext,
    state: GatewayState,
    admission: Extract<Admission, { kind: 'forward' }>,
    trusted: boolean,
    assertion: string | undefined,
  ): void {
    if (context.question !== undefined) {
      context.outcome = admission.identity ? 'may pass' : 'public';
      return answerMayPass(res, state, admission, assertion, context.question);
    }
    forward(req, res, context, state, admission, trusted, assertion);
  }

  /** Rewrite the headers for the app, then forward. */
  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    context: RequestContext,
    state: GatewayState,
    admission: Extract<Admission, { kind: 'forward' }>,
    trusted: boolean,
    assertion: string | undefined,
  ): void {
    const { route, upstreamTarget } = admission;
    const { app } = route;
    // The admission sends no request to a route without an app; should one get here, 404.
    if (app === undefined) return fail(req, res, context, state, 'unknown_route', 'forward-auth only route');
    const head = buildUpstreamRequestHeaders(req, {
      route,
      app,
      identity: admission.identity,
      assertion: assertion === undefined ? undefined : { header: state.config.assertion.header, token: assertion },
      requestId: context.requestId,
      protocol: context.protocol,
      hostHeader: context.hostHeader,
      trustedPeer: trusted,
      gatewayCookies: state.cookieNames.all,
      isUpgrade: false,
    });

    context.upstream = proxy.forward(req, res, app, upstreamTarget, head, {
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

