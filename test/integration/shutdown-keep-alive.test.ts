/**
 * A request in flight when the gateway starts shutting down is answered with
 * `Connection: close`: the client then opens a new connection (to another gateway) for its
 * next request instead of sending it on one that is closed under it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, startUpstream } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';

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
