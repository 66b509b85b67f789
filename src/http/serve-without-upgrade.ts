/**
 * An `Upgrade` the gateway does not speak (`h2c`, which `curl --http2 http://…` sends, or
 * `TLS/1.0`) is ignored, as RFC 9110 section 7.8 lets a server do: the request is served as
 * the plain HTTP/1.1 request it also is, by the same pipeline as every other request, on
 * public and protected paths alike. It is never tunnelled to an upstream.
 *
 * Node 20 hands every request with `Connection: upgrade` to the server's 'upgrade' event and
 * has taken the socket off its HTTP parser by then. So the request head is written back
 * without the upgrade headers, in front of whatever bytes followed it (a body, pipelined
 * requests), and the socket is given to the server again as a connection: the server parses
 * and serves it exactly as if the client had never asked to upgrade. The head written back
 * is the one Node already parsed (method, target, raw header lines), so nothing the client
 * sent can be read differently the second time.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';

/** Header lines that only mean something for the upgrade being ignored. */
const UPGRADE_HEADERS = new Set(['upgrade', 'http2-settings']);

/** True for the one upgrade the gateway performs. */
export function isWebSocketUpgrade(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/** The request head without its upgrade: `Upgrade`, `HTTP2-Settings` and their `Connection` tokens gone. */
export function requestHeadWithoutUpgrade(req: http.IncomingMessage): Buffer {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (UPGRADE_HEADERS.has(lower)) continue;
    let value = raw[i + 1]!;
    if (lower === 'connection') {
      value = value
        .split(',')
        .map((token) => token.trim())
        .filter((token) => token !== '' && !UPGRADE_HEADERS.has(token.toLowerCase()))
        .join(', ');
      if (value === '') continue;
    }
    lines.push(`${name}: ${value}`);
  }
  // Node decodes header bytes as latin1; writing them back the same way keeps every byte.
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/**
 * Node's own record of the response being written on a socket (`_httpMessage`, there since
 * Node 0.x). Responses to requests pipelined before the upgrade take their turn after it.
 */
type SocketWithResponse = Duplex & { _httpMessage?: http.ServerResponse | null };

/** Calls `then` once no earlier response is still being written on the socket. */
function whenNoResponseIsPending(socket: SocketWithResponse, then: () => void): void {
  const pending = socket._httpMessage;
  if (!pending || socket.destroyed) return then();
  // Node hands the socket to the next queued response as this one finishes; look again then.
  pending.once('finish', () => setImmediate(() => whenNoResponseIsPending(socket, then)));
  pending.once('close', () => setImmediate(() => whenNoResponseIsPending(socket, then)));
}

/** Serves an upgrade request the gateway does not perform as a plain request on `server`. */
export function serveWithoutUpgrade(server: http.Server, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
  if (head.length > 0) socket.unshift(head);
  socket.unshift(requestHeadWithoutUpgrade(req));
  // Out of the parser's call stack that emitted 'upgrade', and after the answers to any
  // requests pipelined before this one, so responses stay in request order.
  let handedBack = false;
  const handBack = () => {
    if (handedBack || socket.destroyed) return;
    handedBack = true;
    server.emit('connection', socket);
  };
  process.nextTick(() => whenNoResponseIsPending(socket as SocketWithResponse, handBack));
}
