/**
 * Forwarding: bodies stream both ways with backpressure, nothing is buffered or parsed.
 *
 * Plain requests go out through Node's own `http.request` on the route's keep-alive agent.
 * That is all a hop needs once the headers are prepared, and it costs a third less CPU per
 * request than http-proxy's `web()`, which merges options, parses and re-joins the URL and
 * copies every response header through its own passes (docs/performance.md). WebSocket
 * upgrades still go through http-proxy's `ws()`, which relays the handshake and then the
 * two sockets.
 *
 * This module also owns what a hop must get right: the upstream timeout (504) apart from
 * connection failures (502), aborting the upstream request when the client goes away,
 * cutting the client's response when the upstream dies mid-body, and the upstream latency
 * metric. The header blocks both ways are built in upstream-request-headers.ts and
 * client-response-headers.ts.
 */
import httpProxy from 'http-proxy';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { buildClientResponseHeaders } from './client-response-headers.js';
import type { RouteRuntime } from './route-runtime.js';
import type { UpstreamRequestHead } from './upstream-request-headers.js';

export type ProxyFailure = 'upstream_unreachable' | 'upstream_timeout' | 'client_gone';

export interface ForwardCallbacks {
  /** Called once when the request cannot be completed; the caller answers the client. */
  onFailure(failure: ProxyFailure, error: Error): void;
  onUpstreamResponse?(seconds: number): void;
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
  /** Forwards `req` with the prepared header block to `upstreamTarget` (path and query) on the route's upstream. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, route: RouteRuntime, upstreamTarget: string, head: UpstreamRequestHead, callbacks: ForwardCallbacks): ForwardHandle;
  /**
   * Forwards a WebSocket upgrade (`req.url` and `req.headers` already prepared). `onFailure`
   * is called if the handshake cannot be relayed.
   */
  forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, route: RouteRuntime, onFailure: (error: Error) => void): void;
  close(): void;
}

/** One forwarded request: the upstream request, its timeout and its single outcome. */
class Forwarding implements ForwardHandle {
  private readonly upstreamRequest: http.ClientRequest;
  private readonly startedAt = performance.now();
  private timedOut = false;
  private settled = false;

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    private readonly route: RouteRuntime,
    upstreamTarget: string,
    head: UpstreamRequestHead,
    private readonly callbacks: ForwardCallbacks,
  ) {
    const upstream = route.upstream;
    this.upstreamRequest = route.transport.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      agent: route.agent,
      method: req.method,
      path: upstreamTarget,
      headers: head.headers,
      // No upstream response (or no progress) within `timeout`: give up and answer 504.
      timeout: route.config.timeout,
    });
    this.upstreamRequest.on('timeout', () => this.onTimeout());
    this.upstreamRequest.on('error', (error) => this.onError(error));
    this.upstreamRequest.on('response', (response) => this.onResponse(response));
    // A bodyless request (RFC 9112 section 6.3) is ended at once instead of piped.
    if (head.hasBody) req.pipe(this.upstreamRequest);
    else this.upstreamRequest.end();
  }

  abortUpstream(): void {
    if (!this.upstreamRequest.destroyed) this.upstreamRequest.destroy();
  }

  private onTimeout(): void {
    this.timedOut = true;
    this.upstreamRequest.destroy(new Error(`upstream did not answer within ${this.route.config.timeout} ms`));
  }

  private onError(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    const { req, res } = this;
    // Stops a hang on every bodyless 502/504: a fully read request is `destroyed` too (autoDestroy).
    if (res.destroyed || (req.destroyed && !req.complete) || res.writableEnded) {
      this.callbacks.onFailure('client_gone', error);
    } else if (res.headersSent) {
      // Too late for an error page: cut the response so the client cannot take it as whole.
      res.destroy();
    } else {
      this.callbacks.onFailure(this.timedOut ? 'upstream_timeout' : 'upstream_unreachable', error);
    }
  }

  private onResponse(response: http.IncomingMessage): void {
    const { res, route } = this;
    this.callbacks.onUpstreamResponse?.((performance.now() - this.startedAt) / 1000);
    // The upstream died mid-body: end the client's response too, or the client would wait
    // forever for bytes that will never come (and could mistake a cut body for a whole one).
    response.once('close', () => {
      if (!response.complete) res.destroy();
    });
    res.writeHead(response.statusCode ?? 502, response.statusMessage, buildClientResponseHeaders(response.rawHeaders, route.rewriteRule));
    response.pipe(res);
  }
}

export function createProxyEngine(): ProxyEngine {
  // Only for WebSocket upgrades (see the module comment).
  const websocketProxy = httpProxy.createProxyServer({});

  return {
    forward(req, res, route, upstreamTarget, head, callbacks) {
      if (head.clientWantsClose) res.shouldKeepAlive = false;
      return new Forwarding(req, res, route, upstreamTarget, head, callbacks);
    },
    forwardUpgrade(req, socket, head, route, onFailure) {
      websocketProxy.ws(req, socket, head, route.websocketProxyOptions, (error: Error) => onFailure(error));
    },
    close() {
      websocketProxy.close();
    },
  };
}
