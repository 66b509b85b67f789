/**
 * What headers cross the gateway, both ways (SPEC sections 4 and 5): hop-by-hop headers stop
 * at the gateway, spoofed identity and forwarding headers never reach the app, Location and
 * Set-Cookie that name the upstream are rewritten, and upstream security headers pass as
 * they are.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request, startGateway, startUpstream, type RecordedRequest } from '../helpers/servers.js';
import { rawRequest } from '../helpers/raw-http.js';

/** Header names as the upstream received them on the wire, lower-cased. */
function rawNames(recorded: RecordedRequest): string[] {
  return recorded.rawHeaders.filter((_, index) => index % 2 === 0).map((name) => name.toLowerCase());
}

/** Lower case with `_` and `.` as `-`: how CGI/WSGI-style servers see a name. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

const IDENTITY_NAMES = [
  'x-auth-request-email',
  'x-auth-request-user',
  'x-auth-request-groups',
  'x-forwarded-email',
  'x-forwarded-user',
  'x-forwarded-groups',
  'remote-user',
  'x-remote-user',
];

const HELMET_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-resource-policy',
  'origin-agent-cluster',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-dns-prefetch-control',
  'x-download-options',
  'x-frame-options',
  'x-permitted-cross-domain-policies',
  'x-xss-protection',
];

async function startPublicRoute(upstreamOrigin: string, extra = '') {
  return startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstreamOrigin}
    public: ["/**"]
${extra}`);
}

describe('hop-by-hop headers', { timeout: 60_000 }, () => {
  test('connection-scoped request headers, and every name Connection lists, never reach the upstream', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, {
      path: '/',
      headers: [
        'Host', 'app.test',
        'Connection', 'X-Secret-Hop, keep-alive, X-Other-Hop',
        'X-Secret-Hop', '1',
        'X-Other-Hop', '2',
        'Keep-Alive', 'timeout=99',
        'Proxy-Connection', 'keep-alive',
        'TE', 'trailers',
        'Upgrade', 'h2c',
        'Proxy-Authorization', 'Basic c2VjcmV0OnNlY3JldA==',
        'X-End-To-End', 'kept',
      ] as unknown as http.OutgoingHttpHeaders,
    });
    assert.equal(response.status, 200);
    const received = upstream.requests[0]!;
    const names = rawNames(received);
    for (const name of ['x-secret-hop', 'x-other-hop', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'proxy-authorization']) {
      assert.ok(!names.includes(name), `${name} reached the upstream`);
    }
    assert.doesNotMatch(String(received.headers.connection ?? ''), /secret|other|upgrade/i);
    assert.equal(received.headers['x-end-to-end'], 'kept');
  });

  test('a Connection header cannot make the gateway drop Host or the body framing', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin, '    preserve_host: true\n');
    t.after(() => gw.close());
    const response = await request(gw.port, {
      method: 'POST',
      path: '/',
      headers: ['Host', 'app.test', 'Connection', 'Host, Content-Length, X-Forwarded-For', 'Content-Length', '5'] as unknown as http.OutgoingHttpHeaders,
      body: 'hello',
    });
    assert.equal(response.status, 200);
    const received = upstream.requests[0]!;
    assert.equal(received.headers.host, 'app.test');
    assert.equal(received.body.toString(), 'hello');
    // Listing X-Forwarded-For as hop-by-hop must not erase the gateway's own value.
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
  });

  test("every identity family and routing override of SPEC section 4 is removed from an untrusted client, in any spelling", async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const identity = ['X-Auth-Request-Foo', 'X-Auth-Request-Access-Token', 'Remote-Email', 'Remote-Groups', 'Remote-Name', 'X-Gatehouse-Assertion', 'Cf-Access-Jwt-Assertion', 'Cf-Access-Authenticated-User-Email', 'X-Pomerium-Jwt-Assertion', 'X-Amzn-Oidc-Data', 'X-Amzn-Oidc-Identity', 'X-Goog-Authenticated-User-Email', 'X-WEBAUTH-USER'];
    const routing = ['X-Original-URL', 'X-Rewrite-URL', 'X-Forwarded-Prefix', 'X-Forwarded-Port', 'X-Forwarded-Ssl', 'X-Forwarded-Scheme', 'X-Real-IP', 'True-Client-IP', 'CF-Connecting-IP', 'X-Client-IP', 'Forwarded'];
    const spellings = (name: string) => [name, name.toLowerCase().replace(/-/g, '_'), name.replace(/-/g, '.')];
    const sent = [...identity, ...routing].flatMap(spellings);
    const response = await request(gw.port, { path: '/x', headers: ['Host', 'app.test', ...sent.flatMap((name) => [name, 'spoofed'])] as unknown as http.OutgoingHttpHeaders });
    assert.equal(response.status, 200);
    const received = upstream.requests[0]!;
    const passed = rawNames(received).filter((name) => sent.some((spoof) => canonical(spoof) === canonical(name)));
    assert.deepEqual(passed, [], 'none of them reached the app');
    assert.ok(!received.rawHeaders.includes('spoofed'));
    assert.equal(received.headers['x-custom-kept'], undefined);
  });

  test('from a trusted proxy the routing overrides pass (it set them); identity headers never do', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
trust_proxy: ["127.0.0.1/32"]
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    await request(gw.port, {
      path: '/x',
      headers: { host: 'app.test', 'x-forwarded-prefix': '/wiki', 'x-real-ip': '198.51.100.7', 'cf-access-jwt-assertion': 'forged', 'remote-email': 'admin@example.com', x_forwarded_prefix: '/evil' },
    });
    const received = upstream.requests[0]!;
    assert.equal(received.headers['x-forwarded-prefix'], '/wiki');
    assert.equal(received.headers['x-real-ip'], '198.51.100.7');
    assert.equal(received.headers['cf-access-jwt-assertion'], undefined);
    assert.equal(received.headers['remote-email'], undefined);
    assert.equal(received.headers.x_forwarded_prefix, undefined, 'an underscore spelling is never the proxy\'s');
  });

  test('a non-WebSocket upgrade (h2c) is never passed to the upstream as an upgrade', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, {
      path: '/',
      headers: { host: 'app.test', connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' },
    });
    // Served as plain HTTP/1.1 without the upgrade headers (test/integration/h2c-upgrade.test.ts has more).
    assert.equal(response.status, 200);
    assert.equal(upstream.requests.length, 1);
    for (const received of upstream.requests) {
      const names = rawNames(received);
      assert.ok(!names.includes('upgrade') && !names.includes('http2-settings'));
    }
  });

  test('connection-scoped response headers, and every name Connection lists, never reach the client', async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('Connection', 'X-Up-Hop, keep-alive');
      res.setHeader('X-Up-Hop', 'secret');
      res.setHeader('Keep-Alive', 'timeout=7, max=77');
      res.setHeader('Proxy-Authenticate', 'Basic realm="upstream"');
      res.setHeader('Proxy-Connection', 'keep-alive');
      res.setHeader('X-Up-Kept', 'yes');
      res.end('ok');
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const agent = new http.Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    const response = await request(gw.port, { path: '/', headers: { host: 'app.test' }, agent });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-up-hop'], undefined);
    assert.equal(response.headers['proxy-authenticate'], undefined);
    assert.equal(response.headers['proxy-connection'], undefined);
    assert.notEqual(response.headers['keep-alive'], 'timeout=7, max=77', "the upstream's Keep-Alive is its own hop");
    assert.doesNotMatch(String(response.headers.connection ?? ''), /x-up-hop/i);
    assert.equal(response.headers['x-up-kept'], 'yes');
    assert.equal(response.text(), 'ok');
  });
});

describe('spoofed identity headers', { timeout: 60_000 }, () => {
  test('no spelling of an identity or configured header reaches the upstream from a client', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(
      upstream.origin,
      '    headers: {"X-Remote-Team": "static", "X-Remote-Who": "{email}"}\n',
    );
    t.after(() => gw.close());
    const spoofed = [
      'X-Auth-Request-Email', 'x-auth-request-email', 'X_Auth_Request_Email', 'X.Auth.Request.Email',
      'X-AUTH-REQUEST-EMAIL', 'X-Auth-Request-User', 'x_auth_request_user', 'X-Auth-Request-Groups',
      'X-Forwarded-User', 'x_forwarded_email', 'X-Forwarded-Email', 'X.Forwarded.User', 'X-Forwarded-Groups',
      'Remote-User', 'remote_user', 'X-Remote-User', 'x_remote_team', 'X-Remote-Team', 'X.REMOTE.TEAM',
      'x-remote-who', 'X_Remote_Who',
    ];
    const headers: string[] = ['Host', 'app.test'];
    for (const name of spoofed) headers.push(name, 'admin@corp.example');
    const response = await request(gw.port, { path: '/', headers: headers as unknown as http.OutgoingHttpHeaders });
    assert.equal(response.status, 200);

    const received = upstream.requests[0]!;
    const spoofedNames = new Set([...IDENTITY_NAMES, 'x-remote-who', 'x-remote-team']);
    const arrived = received.rawHeaders.flatMap((value, index, raw) =>
      index % 2 === 0 && spoofedNames.has(canonical(value)) ? [`${value}: ${raw[index + 1]}`] : [],
    );
    // The one configured static header, spelled as configured, with the configured value and nothing else.
    assert.deepEqual(arrived, ['X-Remote-Team: static']);
    assert.ok(!JSON.stringify(received.rawHeaders).includes('admin@corp.example'), 'the spoofed value appears nowhere');
  });
});

describe('forwarding headers', { timeout: 60_000 }, () => {
  test("an untrusted client's forwarding claims are replaced by the connection's own", async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, {
      path: '/',
      headers: [
        'Host', 'app.test',
        'X-Forwarded-For', '6.6.6.6',
        'X-Forwarded-For', '7.7.7.7',
        'X-Forwarded-Proto', 'https',
        'X-Forwarded-Host', 'evil.test',
        'Forwarded', 'for=6.6.6.6;proto=https;host=evil.test',
        'X-Real-IP', '6.6.6.6',
        'X-Request-Id', 'spoofed-request-id',
      ] as unknown as http.OutgoingHttpHeaders,
    });
    assert.equal(response.status, 200);
    const received = upstream.requests[0]!;
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(received.headers['x-forwarded-proto'], 'http');
    assert.equal(received.headers['x-forwarded-host'], 'app.test');
    assert.equal(received.headers.forwarded, undefined);
    assert.equal(received.headers['x-real-ip'], undefined);
    const names = rawNames(received);
    assert.equal(names.filter((name) => name === 'x-forwarded-for').length, 1);
    assert.equal(names.filter((name) => name === 'x-request-id').length, 1);
    assert.notEqual(received.headers['x-request-id'], 'spoofed-request-id');
    assert.match(String(received.headers['x-request-id']), /^[A-Za-z0-9._:-]{8,128}$/);
  });

  test("an untrusted client cannot smuggle forwarding claims under _ or . spellings", async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    await request(gw.port, {
      path: '/',
      headers: [
        'Host', 'app.test',
        'X_Forwarded_For', '6.6.6.6',
        'X.Forwarded.Proto', 'https',
        'x_forwarded_host', 'evil.test',
        'X_Real_IP', '6.6.6.6',
      ] as unknown as http.OutgoingHttpHeaders,
    });
    const received = upstream.requests[0]!;
    // CGI/WSGI-style servers read X_Forwarded_For as X-Forwarded-For.
    const smuggled = received.rawHeaders.filter((value, index) => index % 2 === 1 && /6\.6\.6\.6|evil\.test|https/.test(value));
    assert.deepEqual(smuggled, []);
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('a trusted proxy has its chain appended to and its proto, host and request id believed', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
trust_proxy: ["127.0.0.1/32"]
routes:
  - name: app
    from: https://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const response = await request(gw.port, {
      path: '/',
      headers: {
        host: 'lb.internal:8080',
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'app.test',
        'x-request-id': 'lb-request-1',
      },
    });
    // Routed by the trusted X-Forwarded-Host and -Proto (https://app.test, port 443).
    assert.equal(response.status, 200);
    const received = upstream.requests[0]!;
    assert.equal(received.headers['x-forwarded-for'], '6.6.6.6, 127.0.0.1');
    assert.equal(received.headers['x-forwarded-proto'], 'https');
    assert.equal(received.headers['x-forwarded-host'], 'app.test');
    assert.equal(received.headers['x-request-id'], 'lb-request-1');
  });

  test('a trust_proxy list that does not contain the peer trusts nothing', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(`
trust_proxy: ["10.0.0.0/8"]
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    await request(gw.port, { path: '/', headers: { host: 'app.test', 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.test' } });
    const received = upstream.requests[0]!;
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(received.headers['x-forwarded-proto'], 'http');
    assert.equal(received.headers['x-forwarded-host'], 'app.test');
  });
});

describe('response rewriting', { timeout: 60_000 }, () => {
  test("a Location on the upstream's origin is rewritten to the external one; others are untouched", async (t) => {
    const locations: Record<string, string> = {};
    const upstream = await startUpstream((req, res) => {
      res.writeHead(302, { location: locations[req.url!] ?? '/' });
      res.end();
    });
    t.after(() => upstream.close());
    const upstreamOrigin = upstream.origin;
    const port = upstream.port;
    Object.assign(locations, {
      '/abs': `${upstreamOrigin}/next?x=1`,
      '/abs-upper': `HTTP://127.0.0.1:${port}/next`,
      '/bare-origin': upstreamOrigin,
      '/query-only': `${upstreamOrigin}?x=1`,
      '/offsite': 'https://other.example/next?x=1',
      '/other-port': `http://127.0.0.1:${port}0/next`,
      '/protocol-relative': `//127.0.0.1:${port}/next`,
      '/protocol-relative-offsite': '//other.example/next',
      '/path': '/next?x=1',
      '/relative': 'next?x=1',
    });
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const expected: Record<string, string> = {
      '/abs': 'http://app.test/next?x=1',
      '/abs-upper': 'http://app.test/next',
      '/bare-origin': 'http://app.test/',
      '/query-only': 'http://app.test/?x=1',
      '/offsite': 'https://other.example/next?x=1',
      '/other-port': `http://127.0.0.1:${port}0/next`,
      '/protocol-relative': 'http://app.test/next',
      '/protocol-relative-offsite': '//other.example/next',
      '/path': '/next?x=1',
      '/relative': 'next?x=1',
    };
    for (const [path, location] of Object.entries(expected)) {
      const response = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(response.status, 302, path);
      assert.equal(response.headers.location, location, path);
    }
  });

  test('with strip_prefix and a base path, upstream locations map back under the route prefix', async (t) => {
    const locations: Record<string, string> = {};
    const upstream = await startUpstream((req, res) => {
      res.writeHead(303, { location: locations[req.url!] ?? '/' });
      res.end();
    });
    t.after(() => upstream.close());
    Object.assign(locations, {
      '/base/path': '/base/next?x=1',
      '/base/abs': `${upstream.origin}/base/next?x=1`,
      '/base/root': '/base',
      '/base/outside': '/elsewhere',
      '/base/lookalike': '/basement/x',
    });
    const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test:8080/app
    to: ${upstream.origin}/base
    strip_prefix: true
    public: ["/**"]
`);
    t.after(() => gw.close());
    const expected: Record<string, string> = {
      '/app/path': '/app/next?x=1',
      '/app/abs': 'http://app.test:8080/app/next?x=1',
      '/app/root': '/app/',
      '/app/outside': '/elsewhere',
      '/app/lookalike': '/basement/x',
    };
    for (const [path, location] of Object.entries(expected)) {
      const response = await request(gw.port, { path, headers: { host: 'app.test:8080' } });
      assert.equal(response.status, 303, path);
      assert.equal(response.headers.location, location, path);
    }
  });

  test("Set-Cookie for the upstream's domain is rewritten to the external host and other cookies are untouched", async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('set-cookie', [
        'a=1; Domain=127.0.0.1; Path=/; HttpOnly',
        'b=2; Path=/; Secure',
        'c=3; Domain=other.example; Path=/',
        'd=4; domain=.127.0.0.1',
        'e=Domain=127.0.0.1; Path=/',
      ]);
      res.end('ok');
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/', headers: { host: 'app.test' } });
    assert.deepEqual(response.headers['set-cookie'], [
      'a=1; Domain=app.test; Path=/; HttpOnly',
      'b=2; Path=/; Secure',
      'c=3; Domain=other.example; Path=/',
      'd=4; Domain=app.test',
      'e=Domain=127.0.0.1; Path=/',
    ]);
  });
});

describe('security headers on proxied responses', { timeout: 60_000 }, () => {
  test('the gateway adds none of its page security headers to an upstream response', async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end('<p>app</p>');
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/', headers: { host: 'app.test', accept: 'text/html' } });
    assert.equal(response.status, 200);
    for (const name of HELMET_HEADERS) assert.equal(response.headers[name], undefined, name);
    assert.equal(response.text(), '<p>app</p>');
  });

  test("the upstream's own security headers arrive unchanged", async (t) => {
    const sent = {
      'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'",
      'strict-transport-security': 'max-age=60',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'unsafe-url',
      'x-content-type-options': 'nosniff',
      'cross-origin-opener-policy': 'unsafe-none',
    };
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, sent);
      res.end('ok');
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/', headers: { host: 'app.test', accept: 'text/html' } });
    for (const [name, value] of Object.entries(sent)) assert.equal(response.headers[name], value, name);
    for (const name of HELMET_HEADERS.filter((name) => !(name in sent))) assert.equal(response.headers[name], undefined, name);
  });
});

describe('header fidelity', { timeout: 60_000 }, () => {
  test("the client's header spelling and repeated lines reach the app as sent, Host first", async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const sent = ['Host', 'app.test', 'X-Legacy-CamelCase', 'one', 'x-multi', 'a', 'X-Multi', 'b', 'ACCEPT', 'text/plain'];
    assert.equal((await request(gw.port, { path: '/', headers: sent as unknown as http.OutgoingHttpHeaders })).status, 200);
    const raw = upstream.requests[0]!.rawHeaders;
    assert.equal(raw[0]!.toLowerCase(), 'host', 'Host is the first header');
    const pairs = raw.flatMap((value, index) => (index % 2 === 0 ? [`${value}: ${raw[index + 1]}`] : []));
    for (const expected of ['X-Legacy-CamelCase: one', 'x-multi: a', 'X-Multi: b', 'ACCEPT: text/plain']) assert.ok(pairs.includes(expected), `${expected} in ${pairs.join(' | ')}`);
    assert.ok(pairs.indexOf('x-multi: a') < pairs.indexOf('X-Multi: b'), 'repeated lines keep their order');
  });

  test("the app's header spelling and repeated lines reach the client as sent", async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, ['X-App-CamelCase', 'yes', 'Link', '</a>; rel=preload', 'Link', '</b>; rel=preload', 'Content-Length', '2']);
      res.end('ok');
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await rawRequest(gw.port, 'GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close');
    assert.equal(response.status, 200);
    assert.deepEqual(response.headers.link, ['</a>; rel=preload', '</b>; rel=preload']);
    const head = await new Promise<string>((resolve, reject) => {
      http.get({ port: gw.port, host: '127.0.0.1', path: '/', headers: { host: 'app.test' } }, (res) => {
        res.resume();
        resolve(res.rawHeaders.filter((_, index) => index % 2 === 0).join(','));
      }).on('error', reject);
    });
    assert.match(head, /\bX-App-CamelCase\b/);
  });

  test('a chunked answer reaches an HTTP/1.0 client whole and unchunked', async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first part, ');
      setTimeout(() => res.end('second part'), 20);
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const response = await rawRequest(gw.port, 'GET / HTTP/1.0\r\nHost: app.test');
    assert.equal(response.status, 200);
    assert.equal(response.headers['transfer-encoding'], undefined);
    assert.equal(response.text(), 'first part, second part');
  });

  test('a configured header named like an identity header replaces it instead of doubling it', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin, '    headers: {"X-Auth-Request-Groups": "from-config", "X-Static": "v"}\n');
    t.after(() => gw.close());
    // On a public path there is no identity: a static template is sent once, as configured.
    await request(gw.port, { path: '/', headers: { host: 'app.test' } });
    const raw = upstream.requests[0]!.rawHeaders;
    const groups = raw.filter((value, index) => index % 2 === 1 && raw[index - 1]!.toLowerCase() === 'x-auth-request-groups');
    assert.deepEqual(groups, ['from-config']);
  });
});
