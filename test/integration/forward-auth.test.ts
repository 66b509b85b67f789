/**
 * Forward-auth (SPEC section 6) against a real gateway, each endpoint asked with exactly the
 * headers its front proxy sends: nginx auth_request (`X-Original-URL`), Traefik and Caddy
 * (`X-Forwarded-Proto/-Host/-Uri/-Method`), Envoy ext_authz (the original method, Host and
 * path behind a prefix; test/integration/envoy-ext-authz.test.ts has Envoy's exact shape).
 * The decisions are proxy mode's, so each test compares with what a proxied request gets.
 * The real nginx and Caddy are in test/front-proxies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { request } from '../helpers/servers.js';
import { startSignInWorld, signedInCookie, type SignInWorld } from '../helpers/sign-in-world.js';

const ROUTES = (upstream: string) => `  - name: app
    from: http://app.test/
    to: ${upstream}
    allow: ["*@example.com", "group:partners"]
    public: ["/open/**"]
    headers: { X-Remote-User: "{email}" }
  - name: files
    title: File drop
    from: http://files.test/
    allow: ["alice@partner.test"]
  - name: other
    from: http://other.test/
    to: ${upstream}
    allow: ["carol@example.com"]`;

/** What nginx's auth_request location sends (config/nginx/gatehouse.conf). */
function nginxAsks(world: SignInWorld, url: string, headers: Record<string, string> = {}) {
  return request(world.gw.port, { path: '/.gatehouse/auth/request', headers: { host: 'gatehouse:8080', 'x-original-url': url, 'x-original-method': 'GET', ...headers } });
}

/** What Traefik's ForwardAuth and Caddy's forward_auth send. */
function traefikAsks(world: SignInWorld, original: { proto?: string; host: string; uri: string; method?: string }, headers: Record<string, string> = {}) {
  return request(world.gw.port, {
    path: '/.gatehouse/auth/forward',
    headers: {
      host: 'gatehouse:8080',
      'x-forwarded-proto': original.proto ?? 'http',
      'x-forwarded-host': original.host,
      'x-forwarded-uri': original.uri,
      'x-forwarded-method': original.method ?? 'GET',
      'x-forwarded-for': '203.0.113.9',
      ...headers,
    },
  });
}


describe('forward-auth from a trusted proxy', () => {
  let world: SignInWorld;
  let bob: string;
  let alice: string;
  before(async () => {
    world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.0/8"]', ROUTES);
    bob = await signedInCookie(world, 'bob@example.com');
    alice = await signedInCookie(world, 'alice@partner.test');
  });
  after(() => world.close());

  test('nginx: 401 with the sign-in URL on the original host, 200 with the identity, 403 for someone else', async () => {
    const anonymous = await nginxAsks(world, 'http://app.test/reports?q=1', { accept: 'text/html' });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.location, `http://app.test/.gatehouse/login?rd=${encodeURIComponent('http://app.test/reports?q=1')}`);

    const allowed = await nginxAsks(world, 'http://app.test/reports', { cookie: bob });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-auth-request-email'], 'bob@example.com');
    assert.equal(allowed.headers['x-auth-request-user'], 'bob@example.com');
    assert.equal(allowed.headers['x-forwarded-email'], 'bob@example.com');
    assert.equal(allowed.headers['x-forwarded-user'], 'bob@example.com');
    assert.equal(allowed.headers['x-auth-request-groups'], '');
    assert.equal(allowed.headers['x-remote-user'], 'bob@example.com', "the route's own headers too");
    assert.match(String(allowed.headers['x-gatehouse-assertion']), /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(allowed.body.length, 0);

    const groups = await nginxAsks(world, 'http://app.test/', { cookie: alice });
    assert.equal(groups.headers['x-auth-request-groups'], 'partners');

    const forbidden = await nginxAsks(world, 'http://other.test/', { cookie: bob });
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.headers['x-auth-request-email'], undefined, 'no identity with a refusal');
  });

  test('decisions are proxy mode’s: public paths, normalisation, path attacks, unknown hosts', async () => {
    const publicPath = await nginxAsks(world, 'http://app.test/open/readme');
    assert.equal(publicPath.status, 200);
    // Without identity, but each header named empty: a front proxy that copies only headers
    // the answer has (Envoy, Gateway API, Traefik) then replaces a client's own copy.
    for (const name of ['x-auth-request-email', 'x-auth-request-user', 'x-auth-request-groups', 'x-forwarded-email', 'x-forwarded-user', 'x-remote-user', 'x-gatehouse-assertion']) {
      assert.equal(publicPath.headers[name], '', `${name} named empty on a public path`);
    }

    // The same path tricks proxy mode refuses or resolves.
    assert.equal((await nginxAsks(world, 'http://app.test/open/../reports')).status, 401, '.. resolved: not public any more');
    assert.equal((await nginxAsks(world, 'http://app.test/open/%2e%2e/reports')).status, 401);
    assert.equal((await nginxAsks(world, 'http://app.test/open/..%2Freports')).status, 400, 'an encoded slash');
    assert.equal((await nginxAsks(world, 'http://app.test/open/%252e%252e/reports')).status, 400, 'a double-encoded escape');
    assert.equal((await nginxAsks(world, 'http://app.test/../../etc/passwd')).status, 400, 'above the root');
    assert.equal((await nginxAsks(world, 'http://app.test/open;x/../reports')).status, 401);
    for (const [target, status] of [['/open/../reports', 401], ['/open/..%2Freports', 400], ['/open/readme', 200]] as const) {
      const proxied = await request(world.gw.port, { path: target, headers: { host: 'app.test', accept: 'application/json' } });
      const asked = await nginxAsks(world, `http://app.test${target}`);
      assert.equal(asked.status, status, target);
      assert.equal(proxied.status === 401 ? 401 : proxied.status === 400 ? 400 : 200, status, `${target}: proxy mode decides the same`);
    }

    assert.equal((await nginxAsks(world, 'http://unknown.test/')).status, 404, 'an unknown host is never let through');
    assert.equal((await nginxAsks(world, 'http://app.test/.gatehouse/login')).status, 404, 'the front proxy must send /.gatehouse/ to the gateway, not ask about it');
    assert.equal((await nginxAsks(world, 'https://app.test/')).status, 404, 'https://app.test is another origin than the route’s http://app.test');
  });

  test('each endpoint reads its own headers only: a client’s copies of the others change nothing', async () => {
    // nginx passes the client's headers on to the auth subrequest: its X-Forwarded-Uri must not count.
    const viaNginx = await nginxAsks(world, 'http://app.test/reports', { 'x-forwarded-uri': '/open/x', 'x-forwarded-host': 'app.test', 'x-forwarded-proto': 'http' });
    assert.equal(viaNginx.status, 401);
    // Caddy passes the client's headers on too: its X-Original-URL must not count.
    const viaCaddy = await traefikAsks(world, { host: 'app.test', uri: '/reports' }, { 'x-original-url': 'http://app.test/open/x' });
    assert.equal(viaCaddy.status, 401);

    // A proxy that appends instead of replacing sends two lines: refused, not guessed.
    const twice = await request(world.gw.port, {
      path: '/.gatehouse/auth/forward',
      headers: { host: 'gatehouse:8080', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.test', 'x-forwarded-uri': ['/open/x', '/reports'], 'x-forwarded-method': 'GET' },
    });
    assert.equal(twice.status, 400);
    const twiceNginx = await request(world.gw.port, { path: '/.gatehouse/auth/request', headers: { host: 'gw', 'x-original-url': ['http://app.test/open/x', 'http://app.test/reports'] } });
    assert.equal(twiceNginx.status, 400);

    assert.equal((await request(world.gw.port, { path: '/.gatehouse/auth/request', headers: { host: 'gw' } })).status, 400, 'no X-Original-URL');
    assert.equal((await nginxAsks(world, '/reports')).status, 400, 'X-Original-URL must be absolute');
    assert.equal((await traefikAsks(world, { host: 'app.test', uri: '/x', proto: 'gopher' })).status, 400);
    const noUri = await request(world.gw.port, { path: '/.gatehouse/auth/forward', headers: { host: 'gw', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.test' } });
    assert.equal(noUri.status, 400);
  });

  test('Traefik and Caddy: the sign-in redirect and the 403 page are answered for the guest', async () => {
    const page = await traefikAsks(world, { host: 'app.test', uri: '/reports?q=1' }, { accept: 'text/html' });
    assert.equal(page.status, 302);
    assert.equal(page.headers.location, `http://app.test/.gatehouse/login?rd=${encodeURIComponent('http://app.test/reports?q=1')}`);

    const api = await traefikAsks(world, { host: 'app.test', uri: '/api/items' }, { accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(api.json<{ error: string; login_url: string }>().error, 'unauthenticated');

    // A form POST is not a page to come back to: 401, as in proxy mode.
    const post = await traefikAsks(world, { host: 'app.test', uri: '/form', method: 'POST' }, { accept: 'text/html' });
    assert.equal(post.status, 401);

    const forbidden = await traefikAsks(world, { host: 'other.test', uri: '/' }, { accept: 'text/html', cookie: bob });
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.text(), /bob@example\.com/, 'the 403 page names the address');
    assert.match(forbidden.text(), /\/\.gatehouse\/logout\?rd=http%3A%2F%2Fother\.test%2F/, 'and offers to sign in as someone else');

    const allowed = await traefikAsks(world, { host: 'app.test', uri: '/x' }, { cookie: bob });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['x-auth-request-email'], 'bob@example.com');
  });

  test('a route without `to` is only reached through forward-auth', async () => {
    const direct = await request(world.gw.port, { path: '/', headers: { host: 'files.test', accept: 'text/html', cookie: alice } });
    assert.equal(direct.status, 404);
    const asked = await nginxAsks(world, 'http://files.test/drop/1', { cookie: alice });
    assert.equal(asked.status, 200);
    assert.equal(asked.headers['x-auth-request-email'], 'alice@partner.test');
    // Its sign-in pages work on its own host, where the front proxy sends /.gatehouse/.
    const login = await request(world.gw.port, { path: '/.gatehouse/login?rd=http%3A%2F%2Ffiles.test%2F', headers: { host: 'files.test', accept: 'text/html' } });
    assert.equal(login.status, 200);
    assert.match(login.text(), /File drop/);
  });

  test('a question about a WebSocket handshake gets the same Origin check as a proxied one', async () => {
    const base = { cookie: bob, 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
    assert.equal((await nginxAsks(world, 'http://app.test/live', { ...base, origin: 'http://app.test' })).status, 200);
    assert.equal((await nginxAsks(world, 'http://app.test/live', { ...base, origin: 'https://evil.test' })).status, 403, 'cross-site WebSocket hijacking');
  });

  test('the access log names the question and the original request, never the cookie', async () => {
    const before = world.logs.lines.length;
    await nginxAsks(world, 'http://app.test/secret-report?token=abc', { cookie: bob });
    const line = world.logs.records().slice(before).find((entry) => entry.event === 'request');
    assert.ok(line);
    assert.equal(line.forward_auth, 'request');
    assert.equal(line.host, 'app.test');
    assert.equal(line.path, '/secret-report');
    assert.equal(line.route, 'app');
    assert.equal(line.status, 200);
    assert.doesNotMatch(JSON.stringify(world.logs.lines.slice(before)), /token=abc|gatehouse=/);

    // Traefik asks with GET about a POST: the log says POST, the request it was about.
    const mark = world.logs.lines.length;
    await traefikAsks(world, { host: 'app.test', uri: '/reports', method: 'POST' }, { cookie: bob });
    const posted = world.logs.records().slice(mark).find((entry) => entry.event === 'request');
    assert.equal(posted?.method, 'POST');
    assert.equal(posted?.forward_auth, 'forward');
  });

  test('the assertion of a 200 verifies against /.gatehouse/jwks.json and states who and where', async () => {
    const jwks = await request(world.gw.port, { path: '/.gatehouse/jwks.json', headers: { host: 'app.test' } });
    assert.equal(jwks.status, 200);
    assert.match(String(jwks.headers['content-type']), /^application\/jwk-set\+json/);
    const keySet = createLocalJWKSet(jwks.json());
    const allowed = await nginxAsks(world, 'http://app.test/x', { cookie: alice });
    const token = String(allowed.headers['x-gatehouse-assertion']);
    const { payload, protectedHeader } = await jwtVerify(token, keySet, { issuer: 'http://app.test', audience: 'http://app.test', algorithms: ['ES256'] });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, 'alice@partner.test');
    assert.equal(payload.email, 'alice@partner.test');
    assert.deepEqual(payload.groups, ['partners']);
    assert.deepEqual(payload.amr, ['otp']);
    assert.ok(payload.exp! - payload.iat! <= 300, 'valid for at most 5 minutes');
    assert.equal(payload.nbf, payload.iat);
    assert.ok(typeof payload.auth_time === 'number' && payload.auth_time <= payload.iat!);
    assert.match(String(payload.sid), /^[\w-]{43}$/);
    assert.ok(!alice.includes(String(payload.sid)), 'sid is a hash, never the session id');

    // Another route: another audience, so an app cannot replay one it received elsewhere.
    const files = await nginxAsks(world, 'http://files.test/', { cookie: alice });
    const other = await jwtVerify(String(files.headers['x-gatehouse-assertion']), keySet, { audience: 'http://files.test' });
    assert.equal(other.payload.iss, 'http://files.test');
    await assert.rejects(jwtVerify(String(files.headers['x-gatehouse-assertion']), keySet, { audience: 'http://app.test' }));
  });
});

describe('forward-auth from anyone else', () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld('memory', 'trust_proxy: ["10.0.0.0/8"]', ROUTES);
  });
  after(() => world.close());

  test('every endpoint answers 403: a stranger may not ask about requests or cookies', async () => {
    const cookie = await signedInCookie(world, 'bob@example.com');
    for (const path of ['/.gatehouse/auth/request', '/.gatehouse/auth/forward', '/.gatehouse/auth/ext/x']) {
      const answer = await request(world.gw.port, {
        path,
        headers: { host: 'app.test', cookie, accept: 'application/json', 'x-original-url': 'http://app.test/', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'app.test', 'x-forwarded-uri': '/' },
      });
      assert.equal(answer.status, 403, path);
      assert.equal(answer.json<{ error: string }>().error, 'forward_auth_untrusted');
      assert.equal(answer.headers['x-auth-request-email'], undefined);
    }
  });
});
