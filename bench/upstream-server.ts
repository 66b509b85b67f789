/**
 * The benchmark's Node app: 1 KiB answers with keep-alive, a streamed download of any size, a
 * WebSocket echo, `/headers`, the request's headers as JSON (for checking what a proxy under
 * test sends on, outside the measured runs), and an upload sink: a POST to `/upload` is read
 * to its end, then answered 200 (so an upload counts only once every byte has passed the
 * proxy), and `/uploaded` tells how many body bytes the sink has read so far.
 * Run as its own process so its CPU is not counted against the gateway.
 * Prints `{"port":N}` when listening.
 */
import http from 'node:http';
import { WebSocketServer } from 'ws';

const BODY = Buffer.alloc(1024, 'x');
const CHUNK = Buffer.alloc(256 * 1024, 'y');

let uploadedBytes = 0;

const server = http.createServer((req, res) => {
  if (req.url === '/upload') {
    req.on('data', (chunk: Buffer) => (uploadedBytes += chunk.length));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
    return;
  }
  if (req.url === '/uploaded') {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ bytes: uploadedBytes }));
    return;
  }
  if (req.url?.startsWith('/download')) {
    const total = Number(new URL(req.url, 'http://x').searchParams.get('bytes') ?? 0);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  if (req.url === '/headers') {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
    return;
  }
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
  res.end(BODY);
});
server.keepAliveTimeout = 60_000;
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => socket.on('message', (data, binary) => socket.send(data, { binary })));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
