/**
 * Forwarding: bodies stream both ways with backpressure, nothing is buffered or parsed.
 *
 * Plain requests go out through Node's own `http.request` on the route's keep-alive agent.
 * That is all a hop needs once the headers are prepared, and it runs about a fifth fewer
 * instructions per request than http-proxy's `web()`, which merges options, parses and
 * re-joins the URL and copies every response header through its own passes
 * (docs/performance.md). WebSocket
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

// The forwarding rides on the upstream request, the upstream response and the client's
// response under a private symbol, so their listeners are shared functions instead of
// closures made per request.
const FORWARDING = Symbol('gatehouse.forwarding');
type Tagged<T> = T & { [FORWARDING]?: Forwarding };

function forwardingOf(emitter: Tagged<object>): Forwarding {
  return emitter[FORWARDING]!;
}

function onUpstreamTimeout(this: Tagged<http.ClientRequest>): void {
  forwardingOf(this).onTimeout();
}

function onUpstreamError(this: Tagged<http.ClientRequest>, error: Error): void {
  forwardingOf(this).onError(error);
}

function onUpstreamResponse(this: Tagged<http.ClientRequest>, response: http.IncomingMessage): void {
  forwardingOf(this).onResponse(response);
}

// The response body is relayed with three listeners rather than `pipe()`, which adds and
// later removes about a dozen across both streams for every response.
function onUpstreamData(this: Tagged<http.IncomingMessage>, chunk: Buffer): void {
  const forwarding = forwardingOf(this);
  // Backpressure: a slow client pauses the upstream until its socket drains.
  if (!forwarding.res.write(chunk)) {
    this.pause();
    if (!forwarding.listensForDrain) {
      forwarding.listensForDrain = true;
      forwarding.res.on('drain', onClientDrain);
    }
  }
}

function onClientDrain(this: Tagged<http.ServerResponse>): void {
  forwardingOf(this).upstreamResponse?.resume();
}

function onUpstreamEnd(this: Tagged<http.IncomingMessage>): void {
  forwardingOf(this).res.end();
}

function onUpstreamClose(this: Tagged<http.IncomingMessage>): void {
  // The upstream died mid-body: end the client's response too, or the client would wait
  // forever for bytes that will never come (and could mistake a cut body for a whole one).
  if (!this.complete) forwardingOf(this).res.destroy();
}

/** One forwarded request: the upstream request, its timeout and its single outcome. */
class Forwarding implements ForwardHandle {
  private readonly upstreamRequest: Tagged<http.ClientRequest>;
  upstreamResponse: http.IncomingMessage | undefined;
  listensForDrain = false;
  private readonly startedAt = performance.now();
  private timedOut = false;
  private settled = false;

  constructor(
    private readonly req: http.IncomingMessage,
    readonly res: Tagged<http.ServerResponse>,
    private readonly route: RouteRuntime,
    upstreamTarget: string,
    head: UpstreamRequestHead,
    private readonly callbacks: ForwardCallbacks,
  ) {
    const upstream = route.upstream;
    const upstreamRequest: Tagged<http.ClientRequest> = route.transport.request({
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
    this.upstreamRequest = upstreamRequest;
    upstreamRequest[FORWARDING] = this;
    upstreamRequest.on('timeout', onUpstreamTimeout);
    upstreamRequest.on('error', onUpstreamError);
    upstreamRequest.on('response', onUpstreamResponse);
    // A bodyless request (RFC 9112 section 6.3) is ended at once instead of piped.
    if (head.hasBody) req.pipe(upstreamRequest);
    else upstreamRequest.end();
  }

  abortUpstream(): void {
    if (!this.upstreamRequest.destroyed) this.upstreamRequest.destroy();
  }

  onTimeout(): void {
    this.timedOut = true;
    this.upstreamRequest.destroy(new Error(`upstream did not answer within ${this.route.config.timeout} ms`));
  }

  onError(error: Error): void {
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

  onResponse(response: Tagged<http.IncomingMessage>): void {
    const { res, route } = this;
    this.callbacks.onUpstreamResponse?.((performance.now() - this.startedAt) / 1000);
    try {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, buildClientResponseHeaders(response.rawHeaders, route.rewriteRule));
    } catch (error) {
      // A header Node's parser let in but its writer refuses: a 502, never a crash.
      this.upstreamRequest.destroy();
      this.onError(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    this.upstreamResponse = response;
    response[FORWARDING] = this;
    res[FORWARDING] = this;
    response.on('data', onUpstreamData);
    response.on('end', onUpstreamEnd);
    response.on('close', onUpstreamClose);
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
