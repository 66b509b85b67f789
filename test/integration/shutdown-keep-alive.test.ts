/**
 * A request in flight when the gateway starts shutting down is answered with
 * `Connection: close`: the client then opens a new connection (to another gateway) for its
 * next request instead of sending it on one that is closed under it. A connection accepted
 * just before the stop, whose first request is not read yet, is served too, not reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { startGateway, startUpstream } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import { captureLogs } from '../helpers/mail.js';

test('a request in flight at shutdown is answered Connection: close, not keep-alive', async () => {
  const held: http.ServerResponse[] = [];
  const upstream = await startUpstream((_req, res) => held.push(res));
  const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
  const agent = new http.Agent({ keepAlive: true });
  try {
    const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: gw.port, path: '/slow', headers: { host: 'app.test' }, agent }, resolve).on('error', reject);
    });
    await eventually(() => held.length === 1, 2000, 'the request reaches the app');
    const stopped = gw.gateway.shutdown(5000);
    held[0]!.end('done');
    const response = await answered;
    response.resume();
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers.connection, 'close');
    await stopped;
  } finally {
    agent.destroy();
    await upstream.close();
  }
});

/** A raw connection the gateway has accepted (its 'connection' event has fired). */
async function acceptedConnection(gw: Awaited<ReturnType<typeof startGateway>>): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const accepted = once(gw.gateway.server, 'connection');
  const socket = net.connect(gw.port, '127.0.0.1');
  let data = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (data += chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await Promise.all([once(socket, 'connect'), accepted]);
  return { socket, received: () => data, closed };
}

test('a connection accepted before shutdown whose first request arrives after the listener closed is answered (Connection: close), never reset', async () => {
  const upstream = await startUpstream((_req, res) => res.end('served'));
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
  try {
    const early = await acceptedConnection(gw);
    const stopped = gw.gateway.shutdown(10_000);
    await eventually(() => !gw.gateway.server.listening, 2000, 'the listener closes');
    early.socket.write('GET /late HTTP/1.1\r\nHost: app.test\r\n\r\n');
    await early.closed;
    assert.match(early.received(), /^HTTP\/1\.1 200 /, 'the late first request is served');
    assert.match(early.received(), /\r\nconnection: close\r\n/i);
    assert.match(early.received(), /served$/);
    await stopped;
    assert.equal(logs.records().filter((line) => line.event === 'shutdown.forced').length, 0, 'the stop was not forced');
  } finally {
    await upstream.close();
  }
});

test('a connection that sends nothing at shutdown is closed after its first-request time; the stop does not wait for the grace period', async (t) => {
  const logs = captureLogs();
  const upstream = await startUpstream((_req, res) => res.end('served'));
  t.after(() => upstream.close());
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
  const silent = await acceptedConnection(gw);
  const stopped = gw.gateway.shutdown(60_000);
  await silent.closed;
  assert.equal(silent.received(), '', 'closed without an answer: it asked nothing');
  await stopped;
  assert.equal(logs.records().filter((line) => line.event === 'shutdown.forced').length, 0, 'the stop was not forced');
});
