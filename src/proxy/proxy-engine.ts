/**
 * Forwarding with http-proxy: bodies stream both ways with backpressure, nothing is
 * buffered or parsed. This module adds what http-proxy leaves to its user: the upstream
 * timeout (504) apart from connection failures (502), aborting the upstream request when
 * the client goes away, hop-by-hop response headers, Location/Set-Cookie rewriting and
 * latency metrics.
 */
import httpProxy from 'http-proxy';
import type http from 'node:http';
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
  startedAt: bigint;
  timedOut: boolean;
}

export interface ProxyEngine {
  /** Forwards `req` (url and headers already prepared) to the route's upstream. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, route: RouteRuntime, clientWantsClose: boolean, callbacks: ForwardCallbacks): void;
  /** Forwards a WebSocket upgrade. `onFailure` is called if the handshake cannot be relayed. */
  forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, route: RouteRuntime, onFailure: (error: Error) => void): void;
  close(): void;
}

export function createProxyEngine(): ProxyEngine {
  const proxy = httpProxy.createProxyServer({});
  const states = new WeakMap<http.IncomingMessage, ForwardState>();

  proxy.on('proxyReq', (proxyReq, req, res) => {
    const state = states.get(req);
    if (!state) return;
    state.startedAt = process.hrtime.bigint();
    // No upstream response (or no progress) within `timeout`: give up and answer 504.
    proxyReq.setTimeout(state.route.config.timeout, () => {
      state.timedOut = true;
      proxyReq.destroy(new Error(`upstream did not answer within ${state.route.config.timeout} ms`));
    });
    // The client went away: stop the upstream work it asked for instead of letting it run on.
    res.once('close', () => {
      if (!res.writableFinished) proxyReq.destroy();
    });
  });

  proxy.on('proxyRes', (proxyRes, req, res) => {
    const state = states.get(req);
    if (!state) return;
    // The upstream died mid-body: end the client's response too, or the client would wait
    // forever for bytes that will never come (and could mistake a cut body for a whole one).
    proxyRes.once('close', () => {
      if (!proxyRes.complete) res.destroy();
    });
    state.callbacks.onUpstreamResponse?.(Number(process.hrtime.bigint() - state.startedAt) / 1e9);
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
      const state: ForwardState = { route, clientWantsClose, callbacks, startedAt: 0n, timedOut: false };
      states.set(req, state);
      proxy.web(req, res, route.proxyOptions, (error: Error) => {
        // Stops a hang on every bodyless 502/504: a fully read request is `destroyed` too (autoDestroy).
        if (res.destroyed || (req.destroyed && !req.complete) || res.writableEnded) {
          callbacks.onFailure('client_gone', error);
        } else {
          callbacks.onFailure(state.timedOut ? 'upstream_timeout' : 'upstream_unreachable', error);
        }
      });
    },
    forwardUpgrade(req, socket, head, route, onFailure) {
      proxy.ws(req, socket, head, route.websocketProxyOptions, (error: Error) => onFailure(error));
    },
    close() {
      proxy.close();
    },
  };
}
