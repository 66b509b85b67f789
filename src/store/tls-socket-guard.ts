/**
 * Keeps a TLS error on a Redis connection from crashing the gateway.
 *
 * node-redis (5.x and 6.x) listens for a socket's first 'error' only (`socket.once('error')`).
 * A TLS error after the handshake is emitted without destroying the socket, and the reset
 * that follows is a second 'error' with no listener: Node then throws it, and the process
 * dies. It happens whenever a Redis server refuses the gateway's client certificate under
 * TLS 1.3 (the server's verdict comes after the client's handshake has finished): a wrong or
 * missing certificate must make the gateway not ready, not kill it.
 *
 * node-redis builds its TLS sockets with `tls.connect(options)` and offers no socket factory,
 * so this wraps `tls.connect` once. Only sockets whose options carry {@link GUARDED_TLS_SOCKET}
 * (the Redis store's own, see redis-connection.ts) get the extra listener; every other caller
 * is untouched. The listener swallows nothing node-redis needs: its own listener has already
 * reported the first error and its 'close' handling reconnects.
 */
import tls from 'node:tls';

/** Put this key (value true) in a socket's TLS options to guard it; it is ignored by tls itself. */
export const GUARDED_TLS_SOCKET = Symbol.for('gatehouse.guarded-tls-socket');

let installed = false;

/** Installs the wrapper (once per process). */
export function guardRedisTlsSockets(): void {
  if (installed) return;
  installed = true;
  const connect = tls.connect;
  const guarded = function (this: unknown, ...args: unknown[]): tls.TLSSocket {
    const socket = (connect as (...params: unknown[]) => tls.TLSSocket).apply(this, args);
    const options = args.find((arg): arg is Record<symbol, unknown> => typeof arg === 'object' && arg !== null);
    if (options?.[GUARDED_TLS_SOCKET] === true) socket.on('error', () => undefined);
    return socket;
  };
  tls.connect = guarded as typeof tls.connect;
}
