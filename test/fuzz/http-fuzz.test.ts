/**
 * Fuzzing the HTTP entry points with fast-check, over real sockets to a real gateway:
 * request targets (encodings, dots, separators, odd bytes), methods, headers (identity and
 * forwarding ones included), cookies and the sign-in form bodies. Whatever arrives, the
 * gateway answers (never a crash, never a hang), never with a 5xx (the app and the store
 * are up, so none is by design here), and nothing reaches the app unauthenticated except
 * its public paths.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { rawRequest } from '../helpers/raw-http.js';
import { request, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/servers.js';
import { SECRET } from '../helpers/sign-in-world.js';

const PIECES = ['/', '.', '..', '%', '%2e', '%2E', '%2f', '%2F', '%5c', '%25', '%00', '%zz', ';', ';x=1', '\\', '?', '#', '&', '=', 'open', 'secret', 'admin', '.gatehouse', 'login', 'auth', 'request', 'jwks.json', 'assets', 'é', '~', '*', '@', ':', '//', '%C0%AE', '%u002e'];
const target = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 12 }).map((parts) => parts.join('')),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => `/open/${parts.join('')}`),
  fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => `/.gatehouse/${parts.join('')}`),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((text) => `/${text}`),
  fc.constantFrom('*', 'http://app.test/secret', 'http://evil.test/open/x', '//app.test/secret', 'app.test:80'),
);
const HEADER_NAMES = ['cookie', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-uri', 'x-original-url', 'x-original-method', 'x-auth-request-email', 'x-gatehouse-assertion', 'forwarded', 'origin', 'referer', 'accept', 'accept-language', 'user-agent', 'upgrade', 'connection', 'sec-fetch-site', 'x-request-id', 'x_auth_request_email', 'expect', 'range'];
const headerValue = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((text) => text.replace(/[\r\n\0]/g, '')),
  fc.constantFrom('gatehouse=s%3Aforged.signature', 'gatehouse=' + 'a'.repeat(4000), 'bob@example.com', 'https', '127.0.0.1, 10.0.0.1', 'http://app.test/secret', 'text/html', 'websocket', 'keep-alive, Upgrade', 'same-origin', 'null', '100-continue', 'bytes=0-1'),
);
const host = fc.oneof(fc.constantFrom('app.test', 'APP.TEST', 'app.test:80', 'other.test', '', 'app.test.', '[::1]', 'app.test:99999'), fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((text) => text.replace(/[\r\n\0 ]/g, '')));
const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PROPFIND', 'get', 'G_T');
const formBody = fc.oneof(
  fc.string({ unit: 'binary-ascii', maxLength: 200 }),
  fc.record({ email: headerValue, code: headerValue, csrf: headerValue, rd: target }).map((fields) => new URLSearchParams(fields).toString()),
  fc.constantFrom('email=bob%40example.com&csrf=x', 'code=12345678&csrf=x&rd=%2F', '%', '&&&', 'email=' + 'a'.repeat(20_000)),
);

describe('fuzzing the HTTP entry points', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
trust_proxy: []
session: { secret: ${SECRET}, store: memory }
mail: { transport: log }
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/open/**"]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  async function ask(head: string, body?: string): Promise<number> {
    const response = await rawRequest(gw.port, head, { body, timeoutMs: 5000 });
    return response.status;
  }

  function assertNothingUnauthenticatedReachedTheApp(): void {
    for (const recorded of upstream.requests) {
      assert.ok(recorded.url.startsWith('/open/'), `the app got ${recorded.method} ${recorded.url} without a session`);
      assert.equal(recorded.headers['x-auth-request-email'], undefined, 'and never with an identity');
      assert.equal(recorded.headers['x-gatehouse-assertion'], undefined);
    }
  }

  test('targets, methods, hosts and headers: always an answer, never a 5xx, nothing protected reached', async () => {
    await fc.assert(
      fc.asyncProperty(method, target, host, fc.array(fc.tuple(fc.constantFrom(...HEADER_NAMES), headerValue), { maxLength: 6 }), async (verb, path, hostValue, headers) => {
        const lines = [`${verb} ${path} HTTP/1.1`, `Host: ${hostValue}`, ...headers.map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
        const status = await ask(lines.join('\r\n'));
        assert.ok(status < 500, `${status} for ${JSON.stringify(lines)}`);
      }),
      { numRuns: 1500 },
    );
    assertNothingUnauthenticatedReachedTheApp();
  });

  test('sign-in form bodies and cookies: always an answer, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/.gatehouse/login', '/.gatehouse/verify', '/.gatehouse/logout', '/.gatehouse/code'), formBody, headerValue, async (path, body, cookie) => {
        const length = Buffer.byteLength(body, 'latin1');
        const head = [`POST ${path} HTTP/1.1`, 'Host: app.test', 'Origin: http://app.test', 'Content-Type: application/x-www-form-urlencoded', `Content-Length: ${length}`, `Cookie: ${cookie}`, 'Connection: close'].join('\r\n');
        const status = await ask(head, body);
        assert.ok(status < 500, `${status} for POST ${path} ${JSON.stringify(body.slice(0, 200))}`);
      }),
      { numRuns: 800 },
    );
    assertNothingUnauthenticatedReachedTheApp();
  });

  test('CONNECT (found by the fuzzer: the connection was dropped without an answer) gets 405', async () => {
    const answer = await rawRequest(gw.port, 'CONNECT app.test:443 HTTP/1.1\r\nHost: app.test:443');
    assert.equal(answer.status, 405);
    assert.deepEqual(answer.headers.connection, ['close']);
  });

  test('the gateway still serves after the fuzzing', async () => {
    assert.equal((await request(gw.port, { path: '/open/after', headers: { host: 'app.test' } })).status, 200);
    assert.equal((await request(gw.port, { path: '/secret', headers: { host: 'app.test', accept: 'application/json' } })).status, 401);
  });
});
