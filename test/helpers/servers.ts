/**
 * Real servers for integration tests, all on loopback ports: upstream apps that record what
 * they receive, and a gateway built from YAML text. Everything started here is stopped by
 * the returned `close`.
 */
import { eventually } from './raw-http.js';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseConfigText } from '../../src/config/load-config.js';
import { buildGateway, type Gateway } from '../../src/gateway.js';
import { createSilentLogger, type Logger } from '../../src/log/logger.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import type { Notifier } from '../../src/mail/notifier.js';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly remotePort: number;
}

export interface TestUpstream {
  readonly port: number;
  readonly origin: string;
  readonly server: http.Server;
  /** Requests received, in order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** Answers 200 with a JSON echo of the request unless a handler is given. */
export async function startUpstream(handler?: UpstreamHandler, options: { bufferBody?: boolean } = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  let connectionCount = 0;
  const sockets = new Set<Socket>();
  const bufferBody = options.bufferBody ?? true;
  const server = http.createServer((req, res) => {
    if (!bufferBody) {
      handler!(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body, remotePort: req.socket.remotePort! });
      if (handler) return handler(req, res, body);
      const echo = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, bodyLength: body.length });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(echo) });
      res.end(echo);
    });
  });
  server.on('connection', (socket) => {
    connectionCount += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    server,
    requests,
    connections: () => connectionCount,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly port: number;
  readonly adminPort: number | undefined;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Builds and starts a gateway from YAML. `listen` and `admin.listen` default to free
 * loopback ports; `${GATEWAY_PORT}` is not needed: use `from: http://gw.test/` style hosts
 * and send a matching Host header, or use the returned port.
 */
export async function startGateway(
  yaml: string,
  options: { logger?: Logger; env?: NodeJS.ProcessEnv; clock?: () => number; waitUntilReady?: boolean; store?: KeyValueStore; formBodyTimeoutMs?: number; notifier?: Notifier } = {},
): Promise<TestGateway> {
  const withListen = /^listen:/m.test(yaml) ? yaml : `listen: 127.0.0.1:0\n${yaml}`;
  const withAdmin = /^admin:/m.test(withListen) ? withListen : `admin:\n  listen: 127.0.0.1:0\n${withListen}`;
  const { config } = parseConfigText(withAdmin, 'test.yaml', options.env ?? {}, process.cwd());
  const gateway = await buildGateway(config, { logger: options.logger ?? createSilentLogger(), collectProcessMetrics: false, clock: options.clock, store: options.store, formBodyTimeoutMs: options.formBodyTimeoutMs, notifier: options.notifier });
  const { port, adminPort } = await gateway.listen();
  // As a deployment waits for /readyz: a Redis store connects in the background, and a
  // request before that gets a (correct) 503.
  if (adminPort !== undefined && options.waitUntilReady !== false) {
    await eventually(async () => (await request(adminPort, { path: '/readyz' })).status === 200, 5_000, 'the gateway is ready');
  }
  return {
    gateway,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}`,
    close: () => gateway.shutdown(1000),
  };
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

/**
 * Sends one request with exactly the given path and headers (no URL normalisation by a
 * client library: the raw path reaches the gateway as written).
 */
export function request(
  port: number,
  options: { method?: string; path?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent | false; localAddress?: string } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        agent: options.agent ?? false,
        // Any 127.x.y.z is this machine: a test can be many clients.
        localAddress: options.localAddress,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body,
            text: () => body.toString('utf8'),
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
