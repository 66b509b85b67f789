/**
 * Forwarding: bodies stream both ways with backpressure, nothing is buffered or parsed.
 *
 * Plain requests go out on the route's undici pool (upstream-pools.ts) with this module's
 * handler: the response head is rewritten and written, and the body chunks undici parses out
 * of the socket's reads go straight to the client's socket. No IncomingMessage, no stream
 * per response, no copy; about half the CPU per request of `http.request` with an agent,
 * which in turn ran a fifth fewer instructions than http-proxy's `web()` (docs/performance.md).
 * WebSocket upgrades go out through Node's `http.request` on a connection of their own: a 101 relays the two sockets, and an app that answers with anything else gets its
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
import type { Dispatcher } from 'undici';
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

// The forwarding rides on the client's response under a private symbol, so its drain
// listener is one shared function instead of a closure made per request.
const FORWARDING = Symbol('gatehouse.forwarding');
type Tagged<T> = T & { [FORWARDING]?: Forwarding };

function onClientDrain(this: Tagged<http.ServerResponse>): void {
  this[FORWARDING]!.resumeUpstream?.();
}

// A handshake that did not finish within the connect timeout is a timeout too (504), not a refusal.
const TIMEOUT_ERRORS = new Set(['UND_ERR_CONNECT_TIMEOUT']);

/** Raw header names and values as the app sent them (undici hands them over as bytes). */
function headerStrings(raw: readonly Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i += 1) out[i] = raw[i]!.toString('latin1');
  return out;
}

/**
 * One forwarded request, as the handler of its undici dispatch: the upstream answer relayed
 * to the client with backpressure, its timeout and its single outcome.
 */
class Forwarding implements ForwardHandle, Dispatcher.DispatchHandler {
  resumeUpstream: (() => void) | undefined;
  private abortDispatch: ((error?: Error) => void) | undefined;
  private listensForDrain = false;
  private clientGone = false;
  private timedOut = false;
  private settled = false;
  /**
   * The route's timeout, as no progress within it: sending the body, waiting for the answer,
   * receiving the answer's body (refreshed at each step). One Node timer per request, not
   * undici's headers and body timers: those are made anew whenever a connection switches
   * between them and its keep-alive timer, and undici's list keeps a cleared one for up to
   * half a second, so each request left one in the old generation for a full collection.
   */
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = performance.now();

  constructor(
    private readonly req: http.IncomingMessage,
    private readonly res: Tagged<http.ServerResponse>,
    private readonly app: AppConnection,
    upstreamTarget: string,
    head: UpstreamRequestHead,
    private readonly callbacks: ForwardCallbacks,
  ) {
    this.timer = setTimeout(onProgressTimeout, app.timeoutMs, this);
    app.pool.dispatch(
      {
        path: upstreamTarget,
        method: req.method!,
        headers: head.headers,
        // Streamed as it arrives, with backpressure; undici frames it (Content-Length or chunked).
        body: head.hasBody ? req : null,
        // The request's own timer bounds waiting for the app (see `timer`).
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      this,
    );
  }

  abortUpstream(): void {
    this.clientGone = true;
    this.abortDispatch?.(new Error('the client went away'));
  }

  timeOut(): void {
    this.timedOut = true;
    const error = new Error(`upstream did not answer within ${this.app.timeoutMs} ms`);
    if (this.abortDispatch) this.abortDispatch(error);
    // Still queued for a connection (the pool is at its limit): answer now; onConnect drops it.
    else this.fail(error);
  }

  onConnect(abort: (error?: Error) => void): void {
    this.abortDispatch = abort;
    // The client left, or the timeout passed, while the request waited for a connection.
    if (this.clientGone) abort(new Error('the client went away'));
    else if (this.timedOut) abort(new Error(`upstream did not answer within ${this.app.timeoutMs} ms`));
  }

  onBodySent(): void {
    this.timer.refresh();
  }

  onRequestSent(): void {
    this.timer.refresh();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx (103 Early Hints…): interim, not relayed; the final answer follows.
    if (statusCode < 200) return true;
    // From here the timeout bounds a stall mid-body (the response is cut).
    this.timer.refresh();
    const { res, app } = this;
    this.callbacks.onUpstreamResponse?.((performance.now() - this.startedAt) / 1000);
    try {
      res.writeHead(statusCode, statusText, buildClientResponseHeaders(headerStrings(rawHeaders), app.rewriteRule));
    } catch (error) {
      // A header the app's parser let in but Node's writer refuses: a 502, never a crash.
      this.fail(error instanceof Error ? error : new Error(String(error)));
      this.abortDispatch?.();
      return false;
    }
    this.resumeUpstream = resume;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const { res } = this;
    this.timer.refresh();
    // undici's llhttp hands over an empty body span after about every socket read; writing it
    // costs the client's socket a write(fd, NULL, 0) system call per 64 KiB of a download.
    if (chunk.length === 0) return true;
    if (res.write(chunk)) return true;
    // Backpressure: a slow client pauses the upstream until its socket drains.
    if (!this.listensForDrain) {
      this.listensForDrain = true;
      res[FORWARDING] = this;
      res.on('drain', onClientDrain);
    }
    return false;
  }

  onComplete(): void {
    clearTimeout(this.timer);
    this.settled = true;
    this.res.end();
  }

  onError(error: Error): void {
    clearTimeout(this.timer);
    this.fail(error);
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    const { req, res } = this;
    // Stops a hang on every bodyless 502/504: a fully read request is `destroyed` too (autoDestroy).
    if (this.clientGone || res.destroyed || (req.destroyed && !req.complete) || res.writableEnded) {
      this.callbacks.onFailure('client_gone', error);
    } else if (res.headersSent) {
      // Too late for an error page: cut the response so the client cannot take it as whole
      // (the app died or stalled mid-body).
      res.destroy();
    } else {
      const timedOut = this.timedOut || TIMEOUT_ERRORS.has((error as Error & { code?: string }).code ?? '');
      this.callbacks.onFailure(timedOut ? 'upstream_timeout' : 'upstream_unreachable', error);
    }
  }
}

function onProgressTimeout(forwarding: Forwarding): void {
  forwarding.timeOut();
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
