/**
 * WebSocket upgrades: the admission steps of every request (admission.ts), answered on the
 * raw socket — a refusal as JSON before anything reaches the app (401 without a session),
 * or the relay to the app with the same header rules as a plain request. Every upgrade gets
 * its `request` line, like any request.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import type { AccessLog } from '../log/access-log.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import type { ProxyEngine } from '../proxy/proxy-engine.js';
import { buildUpstreamRequestHeaders } from '../proxy/upstream-request-headers.js';
import { assignRequestId, createRequestContext, type RequestContext } from './request-context.js';
import type { RequestAuthorizer } from './authorize-request.js';
import { GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
import { admit, type Admission } from './admission.js';
import { isWebSocketUpgrade } from './serve-without-upgrade.js';
import type { AssertionIssuer } from './identity-assertion.js';

export interface UpgradeHandlerDeps {
  readonly getState: () => GatewayState;
  readonly proxy: ProxyEngine;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Writes the one `request` line per request. */
  readonly accessLog: AccessLog;
  /** The same session rules as plain requests. */
  readonly access: RequestAuthorizer;
  /** The signed identity of a signed-in request. */
  readonly assertions: AssertionIssuer;
  /** True while shutting down: no new WebSockets. */
  readonly isDraining: () => boolean;
  /** Every proxied WebSocket's client socket, so shutdown can end them. */
  readonly openSockets: Set<Duplex>;
  /** A signed-in upgrade was let through (last-seen time). */
  readonly onSignedInRequest?: (sessionId: string, routeName: string) => void;
  /** Serves a request whose Upgrade is not websocket as the plain request it also is (serve-without-upgrade.ts). */
  readonly serveAsPlainRequest: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

function refuseUpgrade(socket: Duplex, code: GatewayErrorCode, requestId: string): void {
  const { status, message } = GATEWAY_ERRORS[code];
  const body = JSON.stringify({ error: code, message, request_id: requestId });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Builds the listener's `upgrade` handler. */
export function createUpgradeHandler(deps: UpgradeHandlerDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { proxy, metrics, logger } = deps;

  /** The upgrade's `request` line, once it is answered (refused, relayed or failed). */
  function logAnswered(req: IncomingMessage, context: RequestContext, status: number): void {
    metrics.countRequest(context.routeName, status);
    deps.accessLog.write({
      requestId: context.requestId,
      method: req.method,
      host: req.headers.host,
      path: context.path,
      route: context.routeName,
      status,
      durationMs: performance.now() - context.startedAt,
      outcome: context.outcome,
      aborted: false,
    });
  }

  function refuse(req: IncomingMessage, socket: Duplex, context: RequestContext, code: GatewayErrorCode, outcome: string): void {
    context.outcome = outcome;
    logger.info({ event: 'websocket.refused', req_id: context.requestId, route: context.routeName || undefined, status: GATEWAY_ERRORS[code].status, outcome });
    refuseUpgrade(socket, code, context.requestId);
    logAnswered(req, context, GATEWAY_ERRORS[code].status);
  }

  return function handleUpgrade(req, socket, head) {
    // h2c and other upgrades we do not speak: the same request, served as plain HTTP/1.1.
    if (!isWebSocketUpgrade(req)) return deps.serveAsPlainRequest(req, socket, head);
    const state = deps.getState();
    const trusted = state.proxyTrust.isTrusted(req.socket);
    const context = createRequestContext(req, assignRequestId(req, trusted));
    socket.on('error', () => socket.destroy());
    const admission = admit(req, context, state, 'upgrade', trusted, deps);
    if (!(admission instanceof Promise)) return answer(admission);
    admission.then(answer, () => refuse(req, socket, context, 'internal', 'crashed'));

    function answer(decided: Admission): void {
      if (socket.destroyed) return;
      switch (decided.kind) {
        case 'forward': {
          const { route, identity, session } = decided;
          if (session !== undefined) deps.onSignedInRequest?.(session.id, route.name);
          const assertion = identity && session ? deps.assertions.assertionFor(route, identity, session) : undefined;
          if (!(assertion instanceof Promise)) return relay(decided, assertion);
          assertion.then(
            (token) => {
              if (!socket.destroyed) relay(decided, token);
            },
            (error: unknown) => {
              logger.warn({ event: 'assertion.unavailable', req_id: context.requestId, error: error instanceof Error ? error.message : String(error) });
              refuse(req, socket, context, 'store_unavailable', 'assertion keys unavailable');
            },
          );
          return;
        }
        case 'refuse':
          if (decided.code === 'store_unavailable') logger.warn({ event: 'store.request_failed', req_id: context.requestId, error: decided.detail });
          return refuse(req, socket, context, decided.code, decided.outcome);
        case 'sign_in':
          return refuse(req, socket, context, decided.step === 'passkey' ? 'passkey_required' : 'unauthenticated', decided.reason);
        case 'forbidden':
          logger.info({ event: 'access.denied', req_id: context.requestId, route: decided.route.name, email: decided.email });
          return refuse(req, socket, context, 'forbidden', 'not allowed');
        case 'pages':
          // admit() never sends an upgrade to the pages; refuse rather than trust that.
          return refuse(req, socket, context, 'unknown_route', 'gatehouse path');
      }
    }

    function relay(decided: Extract<Admission, { kind: 'forward' }>, assertion: string | undefined): void {
      const { route } = decided;
      const { app } = route;
      // The admission sends no upgrade to a route without an app; should one get here, 404.
      if (app === undefined) return refuse(req, socket, context, 'unknown_route', 'forward-auth only route');
      const upstreamHead = buildUpstreamRequestHeaders(req, {
        route,
        app,
        identity: decided.identity,
        assertion: assertion === undefined ? undefined : { header: state.config.assertion.header, token: assertion },
        requestId: context.requestId,
        protocol: context.protocol,
        hostHeader: context.hostHeader,
        trustedPeer: trusted,
        gatewayCookies: state.cookieNames.all,
        isUpgrade: true,
      });
      proxy.forwardUpgrade(req, socket, head, app, decided.upstreamTarget, upstreamHead, {
        onSwitched() {
          metrics.websocketOpened(route.name);
          deps.openSockets.add(socket);
          socket.once('close', () => {
            deps.openSockets.delete(socket);
            metrics.websocketClosed(route.name);
          });
          logger.info({ event: 'websocket.opened', req_id: context.requestId, route: route.name, path: context.path });
          logAnswered(req, context, 101);
        },
        onRefusedByApp(status) {
          context.outcome = 'refused by the app';
          logAnswered(req, context, status);
        },
        onFailure(error) {
          logger.warn({ event: 'upstream.failed', req_id: context.requestId, route: route.name, failure: 'websocket', error: error.message });
          context.outcome = 'upstream_unreachable';
          // Nothing relayed yet: the client still waits for a handshake answer, so give it a 502.
          if (socket.writable && (socket as Socket).bytesWritten === 0) refuseUpgrade(socket, 'upstream_unreachable', context.requestId);
          else socket.destroy();
          logAnswered(req, context, 502);
        },
      });
    }
  };
}
