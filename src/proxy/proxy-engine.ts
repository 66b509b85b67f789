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
 * cutting the client's response when the upstream dies mid-body, hop-by-hop response
 * headers, Location/Set-Cookie rewriting and the upstream latency metric.
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

/**
 * True when the request carries a body (RFC 9112 section 6.3: only Content-Length or
 * Transfer-Encoding announce one). A bodyless request is ended at once instead of piped.
 */
function hasBody(headers: http.IncomingHttpHeaders): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

/** `Transfer-Encoding: chunked` describes the upstream connection; Node frames the client's. */
function isPlainChunked(value: string): boolean {
  return value.length === 7 && value.toLowerCase() === 'chunked';
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
    private readonly callbacks: ForwardCallbacks,
  ) {
    const upstream = route.upstream;
    this.upstreamRequest = route.transport.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      agent: route.agent,
      method: req.method,
      path: req.url,
      headers: req.headers,
      // No upstream response (or no progress) within `timeout`: give up and answer 504.
      timeout: route.config.timeout,
    });
    this.upstreamRequest.on('timeout', () => this.onTimeout());
    this.upstreamRequest.on('error', (error) => this.onError(error));
    this.upstreamRequest.on('response', (response) => this.onResponse(response));
    if (hasBody(req.headers)) req.pipe(this.upstreamRequest);
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
    const headers = response.headers;
    stripHopByHopResponseHeaders(headers);
    const transferEncoding = headers['transfer-encoding'];
    if (transferEncoding !== undefined && isPlainChunked(transferEncoding)) delete headers['transfer-encoding'];
    const location = headers.location;
    if (location !== undefined) headers.location = rewriteLocation(location, route.rewriteRule);
    const cookies = headers['set-cookie'];
    if (cookies !== undefined) headers['set-cookie'] = rewriteSetCookie(cookies, route.rewriteRule);
    res.writeHead(response.statusCode ?? 502, response.statusMessage, headers);
    response.pipe(res);
  }
}

export function createProxyEngine(): ProxyEngine {
  // Only for WebSocket upgrades (see the module comment).
  const websocketProxy = httpProxy.createProxyServer({});

  return {
    forward(req, res, route, clientWantsClose, callbacks) {
      if (clientWantsClose) res.shouldKeepAlive = false;
      return new Forwarding(req, res, route, callbacks);
    },
    forwardUpgrade(req, socket, head, route, onFailure) {
      websocketProxy.ws(req, socket, head, route.websocketProxyOptions, (error: Error) => onFailure(error));
    },
    close() {
      websocketProxy.close();
    },
  };
}
