/**
 * WebSocket upgrades through the gateway (SPEC section 4): relayed both ways on a public
 * route, refused before anything reaches the upstream when the route turns them off, the
 * path is protected or the host is unknown, and counted in the metrics while open.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startGateway } from '../helpers/servers.js';
import { eventually, rawRequest } from '../helpers/raw-http.js';
import { captureLogs } from '../helpers/mail.js';
import net from 'node:net';

interface WebSocketUpstream {
  readonly origin: string;
  /** Headers of every upgrade request that reached the upstream. */
  readonly upgrades: http.IncomingHttpHeaders[];
  /** URL of every upgrade request that reached the upstream. */
  readonly urls: string[];
  /** Plain (non-upgrade) HTTP requests that reached it. */
  plainRequests(): number;
  close(): Promise<void>;
}

/** A `ws` server that greets each client, then echoes each message back as `echo:<text>`. */
async function startWebSocketUpstream(): Promise<WebSocketUpstream> {
  const upgrades: http.IncomingHttpHeaders[] = [];
  const urls: string[] = [];
  let plain = 0;
  const server = http.createServer((_req, res) => {
    plain += 1;
    res.end('plain');
  });
  const wss = new WebSocketServer({ server });
  server.on('upgrade', (req: http.IncomingMessage) => {
    upgrades.push(req.headers);
    urls.push(req.url!);
  });
  wss.on('connection', (socket) => {
    socket.send('hello from upstream');
    socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    upgrades,
    urls,
    plainRequests: () => plain,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a client through the gateway; resolves once open, with the first message received. */
function connect(port: number, path: string, headers: Record<string, string>): Promise<{ socket: WebSocket; messages: string[]; firstMessage: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: 3000 });
    const messages: string[] = [];
    const waiters: Array<() => void> = [];
    socket.on('message', (data) => {
      messages.push(data.toString());
      for (const wake of waiters.splice(0)) wake();
    });
    const firstMessage = new Promise<string>((resolveMessage) => {
      if (messages.length > 0) resolveMessage(messages[0]!);
      else waiters.push(() => resolveMessage(messages[0]!));
    });
    socket.once('open', () => resolve({ socket, messages, firstMessage }));
    socket.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode })));
    socket.once('error', reject);
  });
}

/** Resolves with the status the gateway answered a handshake with (it must not open). */
function refusedStatus(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers, handshakeTimeout: 3000 });
    socket.once('open', () => {
      socket.terminate();
      reject(new Error('the handshake succeeded'));
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode!);
      res.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

function nextMessage(messages: string[], count: number): Promise<void> {
  return eventually(() => messages.length >= count, 2000, `${count} messages`);
}

async function activeWebSockets(registryText: Promise<string>, route: string): Promise<number | undefined> {
  const line = (await registryText).split('\n').find((text) => text.startsWith(`gatehouse_websockets_active{route="${route}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('WebSockets through the gateway', { timeout: 60_000 }, () => {
  test('a public route relays messages both ways and the upstream sees forwarding but no spoofed identity', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/ws/**"]
    headers: {"X-Remote-Team": "static"}
`);
    t.after(() => gw.close());
    const registry = gw.gateway.metrics.registry;

    const client = await connect(gw.port, '/ws/./chat?room=1', {
      host: 'app.test',
      'X-Auth-Request-Email': 'admin@corp.example',
      x_forwarded_user: 'admin@corp.example',
      'X-Remote-Team': 'spoofed',
      'X-Forwarded-For': '6.6.6.6',
    });
    assert.equal(await client.firstMessage, 'hello from upstream');
    client.socket.send('ping 1');
    client.socket.send(Buffer.from('ping 2'));
    await nextMessage(client.messages, 3);
    assert.deepEqual(client.messages, ['hello from upstream', 'echo:ping 1', 'echo:ping 2']);

    const headers = upstream.upgrades[0]!;
    assert.equal(upstream.urls[0], '/ws/chat?room=1', 'the normalised path is forwarded');
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'http');
    assert.equal(headers['x-forwarded-host'], 'app.test');
    assert.equal(headers['x-auth-request-email'], undefined);
    assert.equal(headers.x_forwarded_user, undefined);
    assert.equal(headers['x-remote-team'], 'static');
    assert.ok(!JSON.stringify(headers).includes('admin@corp.example'));
    assert.ok(headers['x-request-id']);

    assert.equal(await activeWebSockets(registry.metrics(), 'app'), 1);
    client.socket.close();
    await eventually(async () => (await activeWebSockets(registry.metrics(), 'app')) === 0, 2000, 'gauge back to 0');
  });

  test('a handshake whose Connection lists other hop-by-hop names still upgrades, without those headers', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const response = await rawRequest(
      gw.port,
      [
        'GET /ws HTTP/1.1',
        'Host: app.test',
        'Connection: keep-alive, Upgrade, X-Secret-Hop',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'X-Secret-Hop: 1',
        'Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==',
      ].join('\r\n'),
    );
    assert.equal(response.status, 101);
    assert.deepEqual(response.headers['sec-websocket-accept'], ['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    const headers = upstream.upgrades[0]!;
    assert.equal(headers['x-secret-hop'], undefined);
    assert.equal(headers['proxy-authorization'], undefined);
    assert.equal(headers.upgrade, 'websocket');
  });

  test('the upstream closing a WebSocket closes it for the client and the gauge returns to 0', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const registry = gw.gateway.metrics.registry;
    const clients = await Promise.all([1, 2, 3].map(() => connect(gw.port, '/ws', { host: 'app.test' })));
    assert.equal(await activeWebSockets(registry.metrics(), 'app'), 3);
    const closed = Promise.all(clients.map(({ socket }) => new Promise<void>((resolve) => socket.once('close', () => resolve()))));
    await upstream.close();
    await eventually(() => closed.then(() => true), 2000, 'clients closed');
    await eventually(async () => (await activeWebSockets(registry.metrics(), 'app')) === 0, 2000, 'gauge back to 0');
  });

  test('websockets: false refuses the upgrade with 403 and the upstream never sees it', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
    websockets: false
`);
    t.after(() => gw.close());
    assert.equal(await refusedStatus(gw.port, '/ws', { host: 'app.test' }), 403);
    assert.equal(upstream.upgrades.length, 0);
    assert.equal(upstream.plainRequests(), 0);
  });

  test('a protected path refuses the upgrade with 401 and the upstream never sees it', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/public/**"]
`);
    t.after(() => gw.close());
    for (const path of ['/ws', '/public/../ws', '/public/%2e%2e/ws', '/PUBLIC/ws']) {
      assert.equal(await refusedStatus(gw.port, path, { host: 'app.test', 'X-Auth-Request-Email': 'a@example.com' }), 401, path);
    }
    assert.equal(await refusedStatus(gw.port, '/public/%2fws', { host: 'app.test' }), 400);
    assert.equal(upstream.upgrades.length, 0);
    assert.equal(upstream.plainRequests(), 0);
  });

  test('an unknown host or a /.gatehouse/ path refuses the upgrade with 404 and nothing is forwarded', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal(await refusedStatus(gw.port, '/ws', { host: 'other.test' }), 404);
    assert.equal(await refusedStatus(gw.port, '/.gatehouse/ws', { host: 'app.test' }), 404);
    assert.equal(upstream.upgrades.length, 0);
    assert.equal(await activeWebSockets(gw.gateway.metrics.registry.metrics(), 'app'), undefined);
  });

  test("a foreign Origin is refused with 403 before the app sees anything (cross-site WebSocket hijacking); the app's own and none pass", async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
  - name: other
    from: https://other.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    for (const origin of ['http://evil.test', 'null', 'http://app.test.evil.test', 'https://app.test']) {
      assert.equal(await refusedStatus(gw.port, '/ws', { host: 'app.test', origin }), 403, origin);
    }
    assert.equal(upstream.upgrades.length, 0);
    for (const headers of [{ host: 'app.test', origin: 'http://app.test' }, { host: 'app.test', origin: 'https://other.test' }, { host: 'app.test' }] as Array<Record<string, string>>) {
      const client = await connect(gw.port, '/ws', headers);
      assert.equal(await client.firstMessage, 'hello from upstream');
      client.socket.close();
    }
  });

  test('every upgrade gets its request line, opened or refused', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const logs = captureLogs();
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/open/**"]
`, { logger: logs.logger });
    t.after(() => gw.close());
    const client = await connect(gw.port, '/open/chat?secret=1', { host: 'app.test' });
    await client.firstMessage;
    client.socket.close();
    assert.equal(await refusedStatus(gw.port, '/private', { host: 'app.test' }), 401);
    await eventually(() => logs.records().filter((line) => line.event === 'request').length >= 2, 2000, 'two request lines');
    const lines = logs.records().filter((line) => line.event === 'request');
    assert.deepEqual(lines.map((line) => [line.method, line.path, line.route, line.status]), [['GET', '/open/chat', 'app', 101], ['GET', '/private', 'app', 401]]);
    assert.ok(!logs.lines.join('').includes('secret=1'), 'never the query string');
  });

  test('a gateway shutting down opens no new WebSocket (503), and ends the open ones once its HTTP requests are done, not at the end of the grace period', async (t) => {
    const upstream = await startWebSocketUpstream();
    t.after(() => upstream.close());
    const logs = captureLogs();
    const gw = await startGateway(
      `
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`,
      { logger: logs.logger },
    );
    const open = await connect(gw.port, '/ws', { host: 'app.test' });
    await open.firstMessage;
    const openClosed = new Promise<void>((resolve) => open.socket.once('close', () => resolve()));
    // Stop accepting on the listener, but a connection that arrives now (here: a raw one
    // opened before) is still served while draining.
    const early = await rawRequestConnection(gw.port);
    const shutdown = gw.gateway.shutdown(60_000);
    const answer = await early.send('GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 503 /);
    assert.match(answer, /"error":"shutting_down"/);
    await shutdown;
    await openClosed;
    assert.equal(logs.records().filter((line) => line.event === 'shutdown.forced').length, 0, 'the open WebSocket did not hold the stop for its grace period');
  });

  test("an app's refusal of an upgrade reaches the client rewritten like any response, never with its internal address", async (t) => {
    const app = http.createServer((_req, res) => res.end('plain'));
    app.on('upgrade', (_req, socket) => {
      const port = (app.address() as AddressInfo).port;
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:${port}/login?next=/ws\r\nSet-Cookie: s=1; Domain=127.0.0.1; Path=/\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nlogin`,
      );
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: http://127.0.0.1:${(app.address() as AddressInfo).port}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const answer = await rawRequest(gw.port, 'GET /ws HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
    assert.equal(answer.status, 302);
    assert.deepEqual(answer.headers.location, ['http://app.test/login?next=/ws']);
    assert.deepEqual(answer.headers['set-cookie'], ['s=1; Domain=app.test; Path=/']);
    assert.equal(answer.headers['keep-alive'], undefined, 'hop-by-hop headers are dropped');
    assert.equal(answer.text(), 'login');
    assert.doesNotMatch(JSON.stringify(answer.headers), /127\.0\.0\.1/);
  });
});

/** A connection opened now, to send on later (after the listener stopped accepting new ones). */
async function rawRequestConnection(port: number): Promise<{ send(text: string): Promise<string> }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    send(text) {
      return new Promise((resolve) => {
        let received = '';
        socket.on('data', (chunk) => (received += chunk.toString('latin1')));
        socket.on('close', () => resolve(received));
        socket.write(text);
      });
    },
  };
}
