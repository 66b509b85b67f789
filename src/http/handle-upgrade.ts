/**
 * WebSocket upgrades: the same checks as `handle-request.ts`, in the same order, answered
 * on the raw socket. A protected path without a session is refused with 401 before
 * anything reaches the upstream.
 */
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { GatewayState } from '../gateway-state.js';
import type { ProxyEngine } from '../proxy/proxy-engine.js';
import { normalizeRequestTarget } from '../routes/normalize-path.js';
import { parseHostHeader } from '../routes/host-header.js';
import { effectiveHost, effectiveProtocol } from '../proxy/forwarded-headers.js';
import { buildUpstreamRequestHeaders, headerObject } from '../proxy/upstream-request-headers.js';
import { assignRequestId } from './request-context.js';
import type { Identity } from '../proxy/identity-headers.js';
import type { AccessOutcome, RequestAuthorizer } from './authorize-request.js';
import { GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
import { hasRepeatedHostHeader, isGatehousePath } from './handle-request.js';
import { isWebSocketUpgrade } from './serve-without-upgrade.js';

export interface UpgradeHandlerDeps {
  readonly getState: () => GatewayState;
  readonly proxy: ProxyEngine;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** The same session rules as plain requests. */
  readonly access: RequestAuthorizer;
  /** Every proxied WebSocket's client socket, so shutdown can end them. */
  readonly openSockets: Set<Duplex>;
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

  return function handleUpgrade(req, socket, head) {
    // h2c and other upgrades we do not speak: the same request, served as plain HTTP/1.1.
    if (!isWebSocketUpgrade(req)) return deps.serveAsPlainRequest(req, socket, head);
    const state = deps.getState();
    const trusted = state.proxyTrust.isTrusted(req.socket);
    const requestId = assignRequestId(req, trusted);
    socket.on('error', () => socket.destroy());

    const refuse = (code: GatewayErrorCode, outcome: string, routeName = ''): void => {
      logger.info({ event: 'websocket.refused', req_id: requestId, route: routeName || undefined, status: GATEWAY_ERRORS[code].status, outcome });
      metrics.countRequest(routeName, GATEWAY_ERRORS[code].status);
      refuseUpgrade(socket, code, requestId);
    };

    const target = normalizeRequestTarget(req.url ?? '');
    if (!target.ok) return refuse('bad_request', `bad target: ${target.reason}`);
    const path = target.path;
    const protocol = effectiveProtocol(req, trusted);
    const hostHeader = effectiveHost(req, trusted);
    const host = parseHostHeader(hostHeader, protocol === 'https' ? 443 : 80);
    if (!host) return refuse('bad_request', 'bad host');
    // Stops Host confusion: two Host lines could route here by one and be read by the app as the other.
    if (hasRepeatedHostHeader(req)) return refuse('bad_request', 'repeated host');
    if (isGatehousePath(target.policyPath)) return refuse('unknown_route', 'gatehouse path');
    const match = state.routeTable.match(host.hostname, host.port, target.policyPath, target.query, target.path);
    if (!match) return refuse('unknown_route', 'no route');
    const route = state.routes[match.index]!;
    if (!route.config.websockets) return refuse('websockets_disabled', 'websockets off', route.name);
    const forward = (identity: Identity | undefined): void => {
      const head = buildUpstreamRequestHeaders(req, {
        route,
        identity,
        requestId,
        protocol,
        hostHeader,
        trustedPeer: trusted,
        gatewayCookies: state.cookieNames.all,
        isUpgrade: true,
      });
      // http-proxy's ws() sends what it finds on the request.
      req.headers = headerObject(head.headers);
      req.url = match.upstreamTarget;
      openWebSocket();
    };
    if (match.isPublic) return forward(undefined);
    // A protected path: the same session rules as plain requests, decided before anything
    // reaches the upstream (401 without a session, 403 not allowed, 503 store down).
    const decide = (access: AccessOutcome): void => {
      if (socket.destroyed) return;
      if (access.kind === 'allowed') return forward(access.identity);
      if (access.kind === 'unauthenticated') return refuse('unauthenticated', access.reason, route.name);
      if (access.kind === 'forbidden') {
        logger.info({ event: 'access.denied', req_id: requestId, route: route.name, email: access.email });
        return refuse('forbidden', 'not allowed', route.name);
      }
      return refuse('store_unavailable', 'store unavailable', route.name);
    };
    const now = deps.access.authorizeNow(req.headers.cookie, route);
    if (now !== undefined) decide(now);
    else void deps.access.authorize(req.headers.cookie, route).then(decide, () => refuse('internal', 'crashed', route.name));

    function openWebSocket(): void {
      metrics.websocketOpened(route.name);
      deps.openSockets.add(socket);
      socket.once('close', () => {
        deps.openSockets.delete(socket);
        metrics.websocketClosed(route.name);
      });
      logger.info({ event: 'websocket.opened', req_id: requestId, route: route.name, path });
      proxy.forwardUpgrade(req, socket, head, route, (error) => {
        logger.warn({ event: 'upstream.failed', req_id: requestId, route: route.name, failure: 'websocket', error: error.message });
        // Nothing relayed yet: the client still waits for a handshake answer, so give it a 502.
        if (socket.writable && (socket as Socket).bytesWritten === 0) refuseUpgrade(socket, 'upstream_unreachable', requestId);
        else socket.destroy();
      });
    }
  };
}
