/**
 * Forwarding: bodies stream both ways with backpressure, nothing is buffered or parsed.
 *
 * Plain requests go out through Node's own `http.request` on the route's keep-alive agent.
 * That is all a hop needs once the headers are prepared, and it runs about a fifth fewer
 * instructions per request than http-proxy's `web()`, which merges options, parses and
 * re-joins the URL and copies every response header through its own passes
 * (docs/performance.md). WebSocket upgrades go out the same way on a connection of their
 * own: a 101 relays the two sockets, and an app that answers with anything else gets its
 * answer through the same response rewriting as any response (http-proxy's `ws()`, used
 * before, relayed that answer raw, internal `Location` and cookie domain included).
 *
 * This module also owns what a hop must get right: the upstream timeout (504) apart from
 * connection failures (502), aborting the upstream request when the client goes away,
 * cutting the client's response when the upstream dies mid-body, and the upstream latency
 * metric. The header blocks both ways are built in upstream-request-headers.ts and
 * client-response-headers.ts.
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { buildClientResponseHeaders } from './client-response-headers.js';
import { rewriteSetCookie } from './response-rewrite.js';
import type { AppConnection } from './route-runtime.js';
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
  /** Forwards `req` with the prepared header block to `upstreamTarget` (path and query) on the route's app. */
  forward(req: http.IncomingMessage, res: http.ServerResponse, app: AppConnection, upstreamTarget: string, head: UpstreamRequestHead, callbacks: ForwardCallbacks): ForwardHandle;
  /**
   * Forwards a WebSocket upgrade with the prepared header block; `clientHead` is what the
   * client sent after its request head. Exactly one callback is called.
   */
  forwardUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    clientHead: Buffer,
    app: AppConnection,
    upstreamTarget: string,
    head: UpstreamRequestHead,
    callbacks: UpgradeCallbacks,
  ): void;
}

export interface UpgradeCallbacks {
  /** The app switched protocols; the sockets are relayed until either side closes. */
  onSwitched(): void;
  /** The app answered the upgrade with `status` instead; its answer was relayed, rewritten. */
  onRefusedByApp(status: number): void;
  /** No answer from the app (unreachable, timeout, TLS): the caller answers the client. */
  onFailure(error: Error): void;
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
    private readonly app: AppConnection,
    upstreamTarget: string,
    head: UpstreamRequestHead,
    private readonly callbacks: ForwardCallbacks,
  ) {
    const upstream = app.upstream;
    const upstreamRequest: Tagged<http.ClientRequest> = app.transport.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      agent: app.agent,
      method: req.method,
      path: upstreamTarget,
      headers: head.headers,
      // No upstream response (or no progress) within `timeout`: give up and answer 504.
      timeout: app.timeoutMs,
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
    this.upstreamRequest.destroy(new Error(`upstream did not answer within ${this.app.timeoutMs} ms`));
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
    const { res, app } = this;
    this.callbacks.onUpstreamResponse?.((performance.now() - this.startedAt) / 1000);
    try {
      res.writeHead(response.statusCode ?? 502, response.statusMessage, buildClientResponseHeaders(response.rawHeaders, app.rewriteRule));
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

/** A response head written by hand on a raw socket; values are as the app's parser let them in. */
function responseHead(status: number, message: string | undefined, headers: readonly string[]): string {
  let text = `HTTP/1.1 ${status} ${message || 'Unknown'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${text}\r\n`;
}

/** Relays a WebSocket handshake and then the two sockets (see the module comment). */
function forwardUpgrade(
  req: http.IncomingMessage,
  socket: Duplex,
  clientHead: Buffer,
  app: AppConnection,
  upstreamTarget: string,
  head: UpstreamRequestHead,
  callbacks: UpgradeCallbacks,
): void {
  const { upstream } = app;
  let answered = false;
  const upstreamRequest = app.transport.request({
    protocol: upstream.protocol,
    hostname: upstream.hostname,
    port: upstream.port,
    // A WebSocket takes its connection over for good: its own, not a pooled one.
    agent: false,
    ...app.websocketTls,
    method: req.method,
    path: upstreamTarget,
    headers: head.headers,
    // No answer to the handshake within `timeout`: give up (the relay itself has no timeout).
    timeout: app.timeoutMs,
  });
  // What the client sent after its request head is already the new protocol: it goes to the
  // app once the app has switched, in order, with the rest of the client's bytes.
  if (clientHead.length > 0) socket.unshift(clientHead);
  const cancel = () => upstreamRequest.destroy();
  socket.once('close', cancel);
  upstreamRequest.on('timeout', () => upstreamRequest.destroy(new Error(`upstream did not answer the upgrade within ${app.timeoutMs} ms`)));
  upstreamRequest.on('error', (error) => {
    if (answered) return;
    answered = true;
    socket.off('close', cancel);
    callbacks.onFailure(error);
  });
  upstreamRequest.on('upgrade', (response: http.IncomingMessage, upstreamSocket: Duplex & { setTimeout(ms: number): unknown; setNoDelay?(noDelay: boolean): unknown }, upstreamHeadBytes: Buffer) => {
    answered = true;
    socket.off('close', cancel);
    upstreamSocket.setTimeout(0);
    upstreamSocket.setNoDelay?.(true);
    (socket as Duplex & { setNoDelay?(noDelay: boolean): unknown }).setNoDelay?.(true);
    // The handshake as the app sent it (Upgrade, Connection, Sec-WebSocket-Accept…), its
    // cookies' Domain mapped to the external host like any response's.
    const headers: string[] = [];
    for (let i = 0; i < response.rawHeaders.length; i += 2) {
      const name = response.rawHeaders[i]!;
      const value = response.rawHeaders[i + 1]!;
      headers.push(name, name.toLowerCase() === 'set-cookie' ? rewriteSetCookie(value, app.rewriteRule) : value);
    }
    socket.write(responseHead(101, response.statusMessage || 'Switching Protocols', headers));
    if (upstreamHeadBytes.length > 0) socket.write(upstreamHeadBytes);
    upstreamSocket.on('error', () => socket.destroy());
    socket.on('error', () => upstreamSocket.destroy());
    upstreamSocket.on('close', () => socket.destroy());
    socket.on('close', () => upstreamSocket.destroy());
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
    callbacks.onSwitched();
  });
  upstreamRequest.on('response', (response: http.IncomingMessage) => {
    // The app refused the upgrade (401, 403, a redirect…): its answer, rewritten like any
    // response, delimited by closing the connection.
    answered = true;
    socket.off('close', cancel);
    const status = response.statusCode ?? 502;
    const headers = buildClientResponseHeaders(response.rawHeaders, app.rewriteRule);
    headers.push('Connection', 'close');
    socket.write(responseHead(status, response.statusMessage, headers));
    response.pipe(socket);
    response.on('error', () => socket.destroy());
    callbacks.onRefusedByApp(status);
  });
  upstreamRequest.end();
}

export function createProxyEngine(): ProxyEngine {
  return {
    forward(req, res, app, upstreamTarget, head, callbacks) {
      if (head.clientWantsClose) res.shouldKeepAlive = false;
      return new Forwarding(req, res, app, upstreamTarget, head, callbacks);
    },
    forwardUpgrade,
  };
}
