/**
 * Route matching end to end (SPEC sections 2 and 3): which upstream a request reaches, with
 * which URL and Host, and which requests never reach any upstream.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway, startUpstream, type TestUpstream } from '../helpers/servers.js';
import { rawRequest } from '../helpers/raw-http.js';

const HELMET_PAGE_HEADERS = ['content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy'];

function paths(upstream: TestUpstream): string[] {
  return upstream.requests.map((recorded) => recorded.url);
}

describe('host matching', { timeout: 60_000 }, () => {
  test('a route on app.test:8443 matches Host APP.test:8443 but not app.test or app.test:80', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test:8443/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());

    const matched = await request(gw.port, { path: '/hello', headers: { host: 'APP.test:8443' } });
    assert.equal(matched.status, 200);
    assert.deepEqual(paths(upstream), ['/hello']);

    for (const host of ['app.test', 'app.test:80', 'app.test:443', 'app.test:18443']) {
      const response = await request(gw.port, { path: '/hello', headers: { host } });
      assert.equal(response.status, 404, `Host ${host}`);
    }
    assert.equal(upstream.requests.length, 1, 'only the matching host reached the upstream');
  });

  test('the same host on two ports reaches two different upstreams', async (t) => {
    const plain = await startUpstream();
    const alt = await startUpstream();
    t.after(() => Promise.all([plain.close(), alt.close()]));
    const gw = await startGateway(`
routes:
  - name: plain
    from: http://app.test/
    to: ${plain.origin}
    public: ["/**"]
  - name: alt
    from: http://app.test:8443/
    to: ${alt.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal((await request(gw.port, { path: '/a', headers: { host: 'App.Test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/b', headers: { host: 'app.test:80' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/c', headers: { host: 'app.test:8443' } })).status, 200);
    assert.deepEqual(paths(plain), ['/a', '/b']);
    assert.deepEqual(paths(alt), ['/c']);
  });

  test('an unknown host gets the 404 page and nothing reaches any upstream', async (t) => {
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
    for (const host of ['other.test', 'app.test.evil', 'evil.app.test', `127.0.0.1:${gw.port}`, 'localhost']) {
      const page = await request(gw.port, { path: '/', headers: { host, accept: 'text/html' } });
      assert.equal(page.status, 404, `Host ${host}`);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      assert.match(page.text(), /Page not found/);
      const api = await request(gw.port, { path: '/x', headers: { host } });
      assert.equal(api.status, 404);
      assert.equal(api.json<{ error: string }>().error, 'unknown_route');
      // The 404 page's stylesheets load on any host; the sign-in pages do not exist there.
      assert.equal((await request(gw.port, { path: '/.gatehouse/assets/gatehouse.css', headers: { host } })).status, 200, `Host ${host}: stylesheet`);
      assert.equal((await request(gw.port, { path: '/.gatehouse/login', headers: { host, accept: 'text/html' } })).status, 404, `Host ${host}: login`);
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('a missing or invalid Host header is answered 400 and never forwarded', async (t) => {
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

    // HTTP/1.1 without Host is refused by the HTTP layer; HTTP/1.0 without Host reaches the pipeline.
    for (const version of ['1.1', '1.0']) {
      const response = await rawRequest(gw.port, `GET /x HTTP/${version}\r\nConnection: close`);
      assert.equal(response.status, 400, `HTTP/${version} without Host`);
    }
    const invalidHosts = ['', 'app.test@evil.test', 'evil.test/app.test', 'app.test:99999', 'app.test:abc', 'app.test:', '[::1', 'app test', 'app.test:80:80', 'app..test'];
    for (const host of invalidHosts) {
      const response = await rawRequest(gw.port, `GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close`);
      assert.equal(response.status, 400, `Host ${JSON.stringify(host)}`);
    }
    const twoHosts = await rawRequest(gw.port, 'GET /x HTTP/1.1\r\nHost: app.test\r\nHost: other.test\r\nConnection: close');
    assert.equal(twoHosts.status, 400, 'two Host headers');
    assert.equal(upstream.requests.length, 0);
  });
});

describe('path prefixes', { timeout: 60_000 }, () => {
  test('the longest matching prefix wins across two upstreams', async (t) => {
    const site = await startUpstream();
    const api = await startUpstream();
    t.after(() => Promise.all([site.close(), api.close()]));
    const gw = await startGateway(`
routes:
  - name: site
    from: http://app.test/
    to: ${site.origin}
    public: ["/**"]
  - name: api
    from: http://app.test/api
    to: ${api.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    for (const path of ['/api', '/api/', '/api/users?id=1', '/', '/apis', '/other/api', '/v1/api/x']) {
      assert.equal((await request(gw.port, { path, headers: { host: 'app.test' } })).status, 200, path);
    }
    assert.deepEqual(paths(api), ['/api', '/api/', '/api/users?id=1']);
    assert.deepEqual(paths(site), ['/', '/apis', '/other/api', '/v1/api/x']);
  });

  test('a prefix matches on a segment boundary: /app and /app/x but not /apple', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/app
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal((await request(gw.port, { path: '/app', headers: { host: 'app.test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/app/x', headers: { host: 'app.test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/app/', headers: { host: 'app.test' } })).status, 200);
    for (const path of ['/apple', '/app.json', '/ap', '/', '/x/app']) {
      assert.equal((await request(gw.port, { path, headers: { host: 'app.test' } })).status, 404, path);
    }
    assert.deepEqual(paths(upstream), ['/app', '/app/x', '/app/']);
  });
});

describe('upstream URL and Host', { timeout: 60_000 }, () => {
  test('strip_prefix and an upstream base path give the right upstream URL with the query preserved', async (t) => {
    const stripped = await startUpstream();
    const kept = await startUpstream();
    t.after(() => Promise.all([stripped.close(), kept.close()]));
    const gw = await startGateway(`
routes:
  - name: stripped
    from: http://app.test/app
    to: ${stripped.origin}/base
    strip_prefix: true
    public: ["/**"]
  - name: kept
    from: http://app.test/keep
    to: ${kept.origin}/base
    public: ["/**"]
`);
    t.after(() => gw.close());
    const query = '?q=a%20b&q=2&redirect=/x/../y&empty=';
    for (const path of [`/app/x/y${query}`, '/app', '/app/?z=1', '/app/a//b/./c']) {
      assert.equal((await request(gw.port, { path, headers: { host: 'app.test' } })).status, 200, path);
    }
    assert.deepEqual(paths(stripped), [`/base/x/y${query}`, '/base/', '/base/?z=1', '/base/a/b/c']);

    assert.equal((await request(gw.port, { path: `/keep/x${query}`, headers: { host: 'app.test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/keep', headers: { host: 'app.test' } })).status, 200);
    assert.deepEqual(paths(kept), [`/base/keep/x${query}`, '/base/keep']);
  });

  test('strip_prefix without a base path forwards the rest of the path from the root', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/app/
    to: ${upstream.origin}
    strip_prefix: true
    public: ["/**"]
`);
    t.after(() => gw.close());
    await request(gw.port, { path: '/app/x?y=1', headers: { host: 'app.test' } });
    await request(gw.port, { path: '/app', headers: { host: 'app.test' } });
    assert.deepEqual(paths(upstream), ['/x?y=1', '/']);
  });

  test('preserve_host true sends the client Host and false sends the upstream address', async (t) => {
    const preserved = await startUpstream();
    const rewritten = await startUpstream();
    t.after(() => Promise.all([preserved.close(), rewritten.close()]));
    const gw = await startGateway(`
routes:
  - name: preserved
    from: http://keep.test:8080/
    to: ${preserved.origin}
    preserve_host: true
    public: ["/**"]
  - name: rewritten
    from: http://app.test/
    to: ${rewritten.origin}
    preserve_host: false
    public: ["/**"]
`);
    t.after(() => gw.close());
    assert.equal((await request(gw.port, { path: '/', headers: { host: 'Keep.test:8080' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/', headers: { host: 'app.test' } })).status, 200);
    assert.equal(preserved.requests[0]?.headers.host, 'Keep.test:8080');
    assert.equal(rewritten.requests[0]?.headers.host, `127.0.0.1:${rewritten.port}`);
    // Exactly one Host reaches the upstream, whatever the route says.
    for (const upstream of [preserved, rewritten]) {
      const hosts = upstream.requests[0]!.rawHeaders.filter((_, index, raw) => index % 2 === 0 && raw[index]!.toLowerCase() === 'host');
      assert.equal(hosts.length, 1);
    }
  });
});

describe('the reserved /.gatehouse/ prefix', { timeout: 60_000 }, () => {
  test('the gateway serves its stylesheet with security headers and never proxies it', async (t) => {
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
    for (const path of ['/.gatehouse/assets/gatehouse.css', '/%2Egatehouse/assets/gatehouse.css', '//.gatehouse//assets/gatehouse.css']) {
      const css = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(css.status, 200, path);
      assert.match(String(css.headers['content-type']), /^text\/css/);
      assert.ok(css.body.length > 0);
      for (const name of HELMET_PAGE_HEADERS) assert.ok(css.headers[name], `${path}: ${name}`);
      // `no-referrer` would make browsers send `Origin: null` on our forms (test/e2e signs in
      // with Chromium to prove the real thing).
      assert.equal(css.headers['referrer-policy'], 'same-origin', path);
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('anything else under /.gatehouse/ is 404, the prefix itself is the guest page, and none is proxied, even on a public-everything route', async (t) => {
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
    const reserved = ['/.gatehouse/anything-else', '/.gatehouse/assets/missing.css', '/.gatehouse/admin?x=1', '/%2egatehouse/secret', '/x/../.gatehouse/y'];
    for (const path of reserved) {
      const response = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(response.status, 404, path);
    }
    // The prefix itself is the guest's own page (signed out here), the gateway's, not the app's.
    for (const path of ['/.gatehouse/', '/.gatehouse']) {
      const response = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(response.status, 200, path);
      assert.match(response.text(), /You are not signed in/, path);
    }
    const post = await request(gw.port, { method: 'POST', path: '/.gatehouse/anything', headers: { host: 'app.test' }, body: 'x=1' });
    assert.equal(post.status, 404);
    // Unknown hosts do not get the gateway's pages either (only the stylesheets of their 404 page).
    const unknown = await request(gw.port, { path: '/.gatehouse/login', headers: { host: 'other.test' } });
    assert.equal(unknown.status, 404);
    assert.equal(upstream.requests.length, 0);
  });
});
