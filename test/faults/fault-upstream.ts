/**
 * The app behind the gateway in the fault tests, in a process of its own so a test can
 * SIGKILL it like a crashed app. Run by fault-world.ts (`startFaultUpstream`), never alone.
 *
 * It listens on 127.0.0.1 (the port in argv[2], 0 for any), prints `{"port":N}` as its first
 * line, and reports every request it receives to the parent over IPC before answering it:
 * which load loop sent it (`x-fault-kind`, `x-fault-guest`) and which identity the gateway
 * set (`x-auth-request-email`), so the test can count protected requests that reached the
 * app without a session. The parent switches how it answers:
 *
 * - `normal`: 200 with `{"email": …}` (after `?slow=MS` milliseconds when asked);
 * - `silent`: accepts the request and never answers it (a request taken while silent stays
 *   unanswered after the mode changes, until the gateway gives up on it);
 * - `cut`: sends the head and a quarter of the body (a Content-Length or a chunked body,
 *   alternately), then drops the connection.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type UpstreamMode = 'normal' | 'silent' | 'cut';

/** What the upstream reports for each request it receives. */
export interface UpstreamRecord {
  readonly type: 'seen';
  /** Epoch ms when the request arrived. */
  readonly at: number;
  readonly path: string;
  readonly kind: string | undefined;
  readonly guest: string | undefined;
  /** The load's `X-Fault-Seq` (`loop:count`), to tell which request this was. */
  readonly sequence: string | undefined;
  /** The identity header the gateway set; undefined when it set none. */
  readonly email: string | undefined;
  /** The route's `headers: {X-Config-Version: …}`, to see which config forwarded it. */
  readonly configVersion: string | undefined;
}

export type UpstreamCommand = { readonly type: 'mode'; readonly mode: UpstreamMode } | { readonly type: 'sync'; readonly id: number };
export type UpstreamReply = UpstreamRecord | { readonly type: 'mode-set'; readonly mode: UpstreamMode } | { readonly type: 'synced'; readonly id: number };

const CUT_BODY_BYTES = 64 * 1024;

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function main(): void {
  let mode: UpstreamMode = 'normal';
  let cuts = 0;
  const sockets = new Set<Socket>();
  const send = (message: UpstreamReply) => process.send?.(message);

  const server = http.createServer((req, res) => {
    send({
      type: 'seen',
      at: Date.now(),
      path: req.url ?? '',
      kind: header(req, 'x-fault-kind'),
      guest: header(req, 'x-fault-guest'),
      sequence: header(req, 'x-fault-seq'),
      email: header(req, 'x-auth-request-email'),
      configVersion: header(req, 'x-config-version'),
    });
    req.resume();
    if (mode === 'silent') return;
    if (mode === 'cut') {
      cuts += 1;
      const chunked = cuts % 2 === 0;
      res.writeHead(200, chunked ? { 'content-type': 'application/octet-stream' } : { 'content-type': 'application/octet-stream', 'content-length': CUT_BODY_BYTES });
      res.write(Buffer.alloc(CUT_BODY_BYTES / 4, 0x61), () => res.socket?.destroy());
      return;
    }
    const answer = () => {
      const body = JSON.stringify({ email: header(req, 'x-auth-request-email') ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const slow = Number(new URL(req.url ?? '/', 'http://upstream').searchParams.get('slow') ?? 0);
    if (slow > 0) setTimeout(answer, Math.min(slow, 10_000));
    else answer();
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  process.on('message', (message: UpstreamCommand) => {
    if (message.type === 'mode') {
      mode = message.mode;
      send({ type: 'mode-set', mode });
    } else if (message.type === 'sync') {
      // IPC keeps order: every record sent before this reply has reached the parent.
      send({ type: 'synced', id: message.id });
    }
  });
  process.on('disconnect', () => process.exit(0));

  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

main();
