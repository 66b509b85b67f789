/**
 * The admin listener (SPEC section 3): health, readiness and Prometheus metrics on their own
 * port, never mixed with the proxied routes, and absent when `admin.listen` is off.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway, startUpstream } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(adminPort: number): Promise<string> {
  const response = await request(adminPort, { path: '/metrics', headers: { host: '127.0.0.1' } });
  assert.equal(response.status, 200);
  assert.match(String(response.headers['content-type']), /^text\/plain/);
  return response.text();
}

describe('the admin listener', { timeout: 60_000 }, () => {
  test('/healthz and /readyz answer 200 on the admin port', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.ok(gw.adminPort !== undefined && gw.adminPort !== gw.port);
    const health = await request(gw.adminPort, { path: '/healthz' });
    assert.equal(health.status, 200);
    assert.equal(health.json<{ status: string }>().status, 'ok');
    const ready = await request(gw.adminPort, { path: '/readyz' });
    assert.equal(ready.status, 200);
    assert.equal(ready.json<{ status: string }>().status, 'ready');
    assert.equal(upstream.requests.length, 0);
  });

  test('/metrics counts real requests by route and status class and times the upstream', async (t) => {
    const upstream = await startUpstream((req, res) => {
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('x');
    });
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const adminPort = gw.adminPort!;
    for (let i = 0; i < 3; i++) assert.equal((await request(gw.port, { path: `/ok/${i}`, headers: { host: 'app.test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/missing', headers: { host: 'app.test' } })).status, 404);
    assert.equal((await request(gw.port, { path: '/', headers: { host: 'unknown.test' } })).status, 404);

    // The counter is bumped when the response closes, which may be just after the client read it.
    let text = '';
    await eventually(async () => {
      text = await scrape(adminPort);
      return metricValue(text, 'gatehouse_requests_total{route="app",status_class="2xx"}') === 3;
    }, 2000, '3 counted requests');
    assert.equal(metricValue(text, 'gatehouse_requests_total{route="app",status_class="4xx"}'), 1);
    assert.equal(metricValue(text, 'gatehouse_requests_total{route="",status_class="4xx"}'), 1);
    assert.match(text, /^# TYPE gatehouse_upstream_duration_seconds histogram$/m);
    assert.equal(metricValue(text, 'gatehouse_upstream_duration_seconds_count{route="app"}'), 4);
    const sum = metricValue(text, 'gatehouse_upstream_duration_seconds_sum{route="app"}');
    assert.ok(sum !== undefined && sum > 0 && sum < 5, `sum ${sum}`);
    // The scrapes themselves are not counted as proxied requests.
    assert.equal(upstream.requests.length, 4);
  });

  test('the admin port does not serve proxied routes and the gateway port does not serve /metrics', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const adminPort = gw.adminPort!;
    for (const path of ['/', '/app', '/x?y=1', '/.gatehouse/assets/gatehouse.css']) {
      const response = await request(adminPort, { path, headers: { host: 'app.test' } });
      assert.equal(response.status, 404, `admin ${path}`);
    }
    assert.equal(upstream.requests.length, 0, 'nothing on the admin port reaches the upstream');

    for (const path of ['/metrics', '/healthz', '/readyz']) {
      // On a route's host the path is the app's own, so it is proxied, not answered by the gateway.
      const proxied = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(proxied.status, 200);
      assert.doesNotMatch(proxied.text(), /gatehouse_/);
      assert.equal(upstream.requests.at(-1)?.url, path);
      // On any other host it is an unknown route.
      const unknown = await request(gw.port, { path, headers: { host: `127.0.0.1:${gw.port}` } });
      assert.equal(unknown.status, 404, `gateway ${path}`);
      assert.doesNotMatch(unknown.text(), /gatehouse_|"status":"ok"/);
    }
  });

  test('admin.listen off starts no admin server', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
admin:
  listen: "off"
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal(gw.adminPort, undefined);
    assert.equal(gw.gateway.adminServer, undefined);
    assert.equal((await request(gw.port, { path: '/', headers: { host: 'app.test' } })).status, 200);
  });

  test('admin.listen off given as a bare YAML word starts no admin server either', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
admin:
  listen: off
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal(gw.adminPort, undefined);
    assert.equal(gw.gateway.adminServer, undefined);
  });
});
