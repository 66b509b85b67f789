/**
 * Forwarding with http-proxy: bodies stream both ways with backpressure, nothing is
 * buffered or parsed. This module adds what http-proxy leaves to its user: the upstream
 * timeout (504) apart from connection failures (502), aborting the upstream request when
 * the client goes away, hop-by-hop response headers, Location/Set-Cookie rewriting and
 * latency metrics.
 */
import httpProxy from 'http-proxy';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { stripHopByHopResponseHeaders } from './hop-by-hop.js';
import { rewriteLocation, rewriteSetCookie } from './response-rewrite.js';
import type { RouteRuntime } from './route-runtime.js';

export type ProxyFailure = 'upstream_unreachable' | 'upstream_timeout' | 'client_gone';

export interface ForwardCallbacks {
  /** Called once when the request cannot be completed; the caller answers the client. */
  onFailure(failure: ProxyFailure, error: Error): void;
  onUpstreamResponse?(seconds: number): void;
}

interface ForwardState {
  readonly route: RouteRuntime;
  readonly clientWantsClose: boolean;
  readonly callbacks: ForwardCallbacks;
  startedAt: number;
  timedOut: boolean;
  upstreamRequest: http.ClientRequest | undefined;
}

/** What the caller keeps of a forwarded request. */
export interface ForwardHandle {
  /**
   * The client went away: stop the upstream work it asked for instead of letting it run on.
   * Called from the response's one `close` listener (see handle-request.ts).
   */
  abortUpstream(): void;
}

export interface ProxyEngine {
  /** Forwards `req` (url and headers already prepared) to the route's upstream. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, route: RouteRuntime, clientWantsClose: boolean, callbacks: ForwardCallbacks): ForwardHandle;
  /** Forwards a WebSocket upgrade. `onFailure` is called if the handshake cannot be relayed. */
  forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, route: RouteRuntime, onFailure: (error: Error) => void): void;
  close(): void;
}

// The forwarding state rides on the request under a private symbol: a WeakMap would make
// every request an ephemeron the garbage collector has to trace separately.
const FORWARD_STATE = Symbol('gatehouse.forwardState');
type RequestWithState = http.IncomingMessage & { [FORWARD_STATE]?: ForwardState };

export function createProxyEngine(): ProxyEngine {
  const proxy = httpProxy.createProxyServer({});

  proxy.on('proxyReq', (proxyReq, req) => {
    const state = (req as RequestWithState)[FORWARD_STATE];
    if (!state) return;
    state.startedAt = performance.now();
    // No upstream response (or no progress) within `timeout`: give up and answer 504.
    proxyReq.setTimeout(state.route.config.timeout, () => {
      state.timedOut = true;
      proxyReq.destroy(new Error(`upstream did not answer within ${state.route.config.timeout} ms`));
    });
    state.upstreamRequest = proxyReq;
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const state = (req as RequestWithState)[FORWARD_STATE];
    if (!state) return;
    // The upstream died mid-body: end the client's response too, or the client would wait
    // forever for bytes that will never come (and could mistake a cut body for a whole one).
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
    state.callbacks.onUpstreamResponse?.((performance.now() - state.startedAt) / 1000);
    const headers = proxyRes.headers;
    stripHopByHopResponseHeaders(headers);
    // http-proxy fills in `Connection` from the client's; keep a client's "close" honoured.
    if (state.clientWantsClose) headers.connection = 'close';
    const location = headers.location;
    if (location !== undefined) headers.location = rewriteLocation(location, state.route.rewriteRule);
    const cookies = headers['set-cookie'];
    if (cookies !== undefined) headers['set-cookie'] = rewriteSetCookie(cookies, state.route.rewriteRule);
  });

  return {
    forward(req, res, route, clientWantsClose, callbacks) {
      const state: ForwardState = { route, clientWantsClose, callbacks, startedAt: 0, timedOut: false, upstreamRequest: undefined };
      (req as RequestWithState)[FORWARD_STATE] = state;
      proxy.web(req, res, route.proxyOptions, (error: Error) => {
        // Stops a hang on every bodyless 502/504: a fully read request is `destroyed` too (autoDestroy).
        if (res.destroyed || (req.destroyed && !req.complete) || res.writableEnded) {
          callbacks.onFailure('client_gone', error);
        } else {
          callbacks.onFailure(state.timedOut ? 'upstream_timeout' : 'upstream_unreachable', error);
        }
      });
      return {
        abortUpstream() {
          if (state.upstreamRequest && !state.upstreamRequest.destroyed) state.upstreamRequest.destroy();
        },
      };
    },
    forwardUpgrade(req, socket, head, route, onFailure) {
      proxy.ws(req, socket, head, route.websocketProxyOptions, (error: Error) => onFailure(error));
    },
    close() {
      proxy.close();
    },
  };
}
