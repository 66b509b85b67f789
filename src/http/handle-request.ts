/**
 * The request pipeline for everything that arrives on the gateway's listener, in the order
 * the security checks run. Read it top to bottom:
 *
 *   1. the request target must normalise (else 400): routing and policy use that one path
 *   2. the Host must be valid (else 400) and served here (else 404)
 *   3. `/.gatehouse/*` goes to the gateway's own pages, never upstream
 *   4. the longest matching route (else 404)
 *   5. access: public paths pass; everything else needs a session (until sign-in exists: 401)
 *   6. headers: hop-by-hop and spoofable identity headers out, forwarding and identity in
 *   7. forward to the upstream (502 unreachable, 504 timeout)
 *
 * Express is not on this path: only step 3 uses it.
 */
import type http from 'node:http';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import type { ProxyEngine, ProxyFailure } from '../proxy/proxy-engine.js';
import { normalizeRequestTarget } from '../routes/normalize-path.js';
import { parseHostHeader } from '../routes/host-header.js';
import { effectiveHost, effectiveProtocol, peerAddress, setForwardedHeaders } from '../proxy/forwarded-headers.js';
import { stripHopByHopRequestHeaders } from '../proxy/hop-by-hop.js';
import { stripSpoofableHeaders } from '../proxy/spoofable-headers.js';
import { setIdentityHeaders } from '../proxy/identity-headers.js';
import { assignRequestId, createRequestContext, requestContextOf, type RequestContext } from './request-context.js';
import { sendErrorResponse } from './pages.js';
import type { GatewayErrorCode } from './errors.js';

export interface RequestHandlerDeps {
  readonly getState: () => GatewayState;
  readonly proxy: ProxyEngine;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Handles `/.gatehouse/*` (the Express app). */
  readonly gatehousePages: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** True while shutting down: responses ask clients to close their connections. */
  readonly isDraining: () => boolean;
  /** Called after every response, e.g. so a draining server can close the now idle connection. */
  readonly onRequestDone: () => void;
}

const GATEHOUSE_PREFIX = '/.gatehouse/';

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
    const durationMs = Number(process.hrtime.bigint() - context.startedAt) / 1e6;
    metrics.countRequest(context.routeName, res.statusCode);
    logger.info({
      event: 'request',
      req_id: context.requestId,
      method: req.method,
      host: req.headers.host,
      path: context.path,
      route: context.routeName || undefined,
      status: res.statusCode,
      duration_ms: Math.round(durationMs * 100) / 100,
      outcome: context.outcome || undefined,
      aborted: res.writableFinished ? undefined : true,
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

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const state = deps.getState();
    const trusted = state.proxyTrust.isTrusted(req.socket);
    const context = createRequestContext(req, assignRequestId(req, trusted));
    res.once('close', () => {
      logFinishedRequest(req, res, context);
      deps.onRequestDone();
    });
    if (deps.isDraining()) res.shouldKeepAlive = false;

    const fail = (code: GatewayErrorCode, outcome: string): void => {
      context.outcome = outcome;
      sendErrorResponse(req, res, code, {
        requestId: context.requestId,
        branding: state.config.branding,
        pageHeaders: state.pageHeaders,
      });
    };

    // 1. One canonical path for routing, policy and forwarding (stops `..`/%2e%2e/%2F tricks).
    const target = normalizeRequestTarget(req.url ?? '');
    if (!target.ok) return fail('bad_request', `bad target: ${target.reason}`);
    context.path = target.path;

    // 2. Host: an unknown host is never sent to some default upstream.
    const protocol = effectiveProtocol(req, trusted);
    const hostHeader = effectiveHost(req, trusted);
    const host = parseHostHeader(hostHeader, protocol === 'https' ? 443 : 80);
    if (!host) return fail('bad_request', 'bad host');
    // Stops Host confusion: two Host lines could route here by one and be read by the app as the other.
    if (hasRepeatedHostHeader(req)) return fail('bad_request', 'repeated host');

    // 3. The gateway's own pages.
    if (isGatehousePath(target.path)) {
      if (!state.knownHosts.has(`${host.hostname}:${host.port}`)) return fail('unknown_route', 'unknown host');
      req.url = target.path + target.query;
      return deps.gatehousePages(req, res);
    }

    // 4. Route.
    const match = state.routeTable.match(host.hostname, host.port, target.path, target.query);
    if (!match) return fail('unknown_route', 'no route');
    const route = state.routes[match.index]!;
    context.routeName = route.name;

    // 5. Access. Sign-in is not built yet, so a protected path is never forwarded.
    if (!match.isPublic) return fail('unauthenticated', 'no session');

    // 6. Headers.
    const headers = req.headers;
    const clientWantsClose = stripHopByHopRequestHeaders(headers, false);
    stripSpoofableHeaders(headers, route.spoofableHeaders);
    setForwardedHeaders(headers, { address: peerAddress(req), protocol, host: hostHeader, trusted });
    setIdentityHeaders(headers, undefined, route.name, route.headerTemplates);
    headers['x-request-id'] = context.requestId;
    if (!route.config.preserve_host) headers.host = route.upstreamHostHeader;
    req.url = match.upstreamTarget;

    // 7. Forward.
    proxy.forward(req, res, route, clientWantsClose || deps.isDraining(), {
      onUpstreamResponse: (seconds) => metrics.observeUpstreamLatency(route.name, seconds),
      onFailure: (failure: ProxyFailure, error: Error) => {
        if (failure === 'client_gone') {
          context.outcome = 'client gone';
          return;
        }
        logger.warn({ event: 'upstream.failed', req_id: context.requestId, route: route.name, failure, error: error.message });
        fail(failure, failure);
      },
    });
  }
}
