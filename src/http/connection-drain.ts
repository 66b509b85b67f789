/**
 * The connections of one HTTP server, for a graceful stop.
 *
 * At a stop the listener closes, requests in flight finish and their answers say
 * `Connection: close`, idle keep-alive connections are closed at once and busy ones as their
 * last answer ends. One kind of connection needs its own rule: one accepted that has not sent
 * a request yet (a browser's preconnect, a client a moment slower than its connect). Node
 * counts it as busy until its headers timeout (60 s), so a single silent client held every
 * stop for its whole grace period and ended it `shutdown.forced`. Here it gets
 * `firstRequestMs` to send its request, which is then served like any other (with
 * `Connection: close`); one that sends nothing by then is closed.
 *
 * Connections handed over by another process (`server.emit('connection', socket)`, see
 * `Gateway.adopt`) are tracked like the listener's own.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';

/** How long a connection accepted before (or during) a stop has to send its first request. */
export const FIRST_REQUEST_MS = 1_000;

interface ConnectionState {
  /** Requests on it whose answer has not closed yet. */
  open: number;
  /** It has sent a request (or an upgrade). */
  used: boolean;
  /** It is a WebSocket (or another upgrade) now: not HTTP, not ours to close as idle. */
  upgraded: boolean;
}

export interface ConnectionDrain {
  /** Connections open now. */
  readonly size: number;
  /**
   * Stops accepting and closes connections as they become idle (see the module comment).
   * Resolves when every HTTP connection has closed; upgraded ones (WebSockets) are left to
   * the caller.
   */
  drain(): Promise<void>;
  /** Cuts every connection still open, upgraded ones included (the grace period is over). */
  closeAll(): void;
}

export function trackConnections(server: http.Server, options: { readonly firstRequestMs?: number } = {}): ConnectionDrain {
  const firstRequestMs = options.firstRequestMs ?? FIRST_REQUEST_MS;
  const connections = new Map<Socket, ConnectionState>();
  const inFlight = new Set<http.ServerResponse>();
  let draining = false;
  let settled: (() => void) | undefined;

  const httpConnectionsLeft = () => {
    for (const state of connections.values()) if (!state.upgraded) return true;
    return false;
  };
  const checkSettled = () => {
    if (settled && !httpConnectionsLeft()) settled();
  };
  const closeIfIdle = (socket: Socket) => {
    const state = connections.get(socket);
    if (state && state.used && !state.upgraded && state.open === 0) socket.destroy();
  };
  const giveTimeForFirstRequest = (socket: Socket, state: ConnectionState) => {
    setTimeout(() => {
      if (!state.used && !state.upgraded) socket.destroy();
    }, firstRequestMs).unref();
  };
  function onResponseClose(this: http.ServerResponse): void {
    inFlight.delete(this);
    const socket = this.req.socket as Socket;
    const state = connections.get(socket);
    if (!state) return;
    state.open -= 1;
    // A request pipelined behind this one is parsed in the same turn: look again after it.
    if (draining && state.open === 0) setImmediate(closeIfIdle, socket);
  }

  server.on('connection', (socket: Socket) => {
    const state: ConnectionState = { open: 0, used: false, upgraded: false };
    connections.set(socket, state);
    socket.once('close', () => {
      connections.delete(socket);
      checkSettled();
    });
    if (draining) giveTimeForFirstRequest(socket, state);
  });
  // Before the server's own handler, which may answer at once: a draining answer must say close.
  server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const state = connections.get(req.socket as Socket);
    if (state) {
      state.used = true;
      state.open += 1;
    }
    inFlight.add(res);
    res.once('close', onResponseClose);
    if (draining) res.shouldKeepAlive = false;
  });
  server.on('upgrade', (req: http.IncomingMessage) => {
    const state = connections.get(req.socket as Socket);
    if (state) state.used = state.upgraded = true;
    checkSettled();
  });

  return {
    get size() {
      return connections.size;
    },
    async drain() {
      draining = true;
      // Requests in flight: their answers say `Connection: close`, so no client sends
      // another request on a connection that is about to be closed under it.
      for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
      // Connections the kernel queued before the stop are accepted (one turn of the event
      // loop) before the listener closes: closing it resets every queued one.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // net.Server's close: the listener closes now. (http.Server's would also close the
      // connections Node thinks idle, which is done here by our own rules; and its callback
      // would wait for WebSockets too, so it is not waited for.)
      if (server.listening) net.Server.prototype.close.call(server);
      for (const [socket, state] of connections) {
        if (state.used) closeIfIdle(socket);
        else giveTimeForFirstRequest(socket, state);
      }
      await new Promise<void>((resolve) => {
        settled = resolve;
        checkSettled();
      });
    },
    closeAll() {
      for (const socket of connections.keys()) socket.destroy();
    },
  };
}
