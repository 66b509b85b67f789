/** `builtin:whoami` shows what an app behind the gateway receives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway } from '../helpers/servers.js';

const CONFIG = `
routes:
  - name: who
    from: http://who.test/
    to: builtin:whoami
    allow: ["*@example.com"]
    public: ["/open/**"]
    headers: { "X-Static": "from-gatehouse" }
`;

test('whoami reports the method, path and the headers the gateway forwarded, as JSON', async (t) => {
  const gw = await startGateway(CONFIG);
  t.after(() => gw.close());
  const response = await request(gw.port, {
    method: 'POST',
    path: '/open/a/../b?x=1',
    headers: { host: 'who.test', accept: 'application/json', 'x-auth-request-email': 'mallory@evil.test', 'content-type': 'text/plain' },
    body: 'hello',
  });
  assert.equal(response.status, 200);
  const report = response.json<{ method: string; path: string; headers: Record<string, string>; body_bytes: number }>();
  assert.equal(report.method, 'POST');
  assert.equal(report.path, '/open/b?x=1');
  assert.equal(report.body_bytes, 5);
  assert.equal(report.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(report.headers['x-forwarded-host'], 'who.test');
  assert.equal(report.headers['x-static'], 'from-gatehouse');
  assert.equal(report.headers['x-auth-request-email'], undefined, 'a spoofed identity header never reaches the app');
  assert.match(report.headers['x-request-id'] ?? '', /\S/);
});

test('whoami answers browsers with an HTML page that escapes what it shows', async (t) => {
  const gw = await startGateway(CONFIG);
  t.after(() => gw.close());
  const response = await request(gw.port, {
    path: '/open/page',
    headers: { host: 'who.test', accept: 'text/html', 'x-evil': '<script>alert(1)</script>' },
  });
  assert.equal(response.status, 200);
  assert.match(String(response.headers['content-type']), /text\/html/);
  const html = response.text();
  assert.match(html, /What the app receives/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.doesNotMatch(html, /<script>/);
});

test('a protected whoami path is not served without a session', async (t) => {
  const gw = await startGateway(CONFIG);
  t.after(() => gw.close());
  const response = await request(gw.port, { path: '/secret', headers: { host: 'who.test', accept: 'application/json' } });
  assert.equal(response.status, 401);
  assert.equal(response.json<{ error: string }>().error, 'unauthenticated');
});
