/**
 * The yardstick: a bare http-proxy hop with a keep-alive agent, nothing else. Every gateway
 * number in the benchmark is divided by this one, measured in the same run.
 * Usage: bare-proxy.ts <upstream port> [<path prefix>=<port> ...]: requests whose path starts
 * with a prefix go to that port instead (the bench's WebSocket echo and upload sink, as the
 * gateway's routes for /ws and /upload do). Prints `{"port":N}` when listening.
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const upstreamPort = Number(process.argv[2]);
const byPrefix = process.argv.slice(3).map((arg) => {
  const eq = arg.lastIndexOf('=');
  return { prefix: arg.slice(0, eq), target: `http://127.0.0.1:${Number(arg.slice(eq + 1))}` };
});
const defaultTarget = `http://127.0.0.1:${upstreamPort}`;
const targetOf = (url = '/') => byPrefix.find(({ prefix }) => url.startsWith(prefix))?.target ?? defaultTarget;

const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
const proxy = httpProxy.createProxyServer({ agent });
proxy.on('error', (_error, _req, res) => {
  if ('writeHead' in res && !res.headersSent) res.writeHead(502);
  res.end();
});
const server = http.createServer((req, res) => proxy.web(req, res, { target: targetOf(req.url) }));
server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, { target: targetOf(req.url) }));
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
