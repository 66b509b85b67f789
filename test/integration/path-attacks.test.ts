/**
 * Path tricks against a real gateway and upstream (SPEC section 2): with `/public/**` public
 * and everything else protected, no spelling of a path may get a protected resource
 * forwarded. Each request is either refused (400 for a path that cannot be normalised, 401
 * for a protected one) with nothing reaching the upstream, or forwarded with exactly the
 * normalised path that the public check saw.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway, startUpstream, type TestGateway, type TestUpstream } from '../helpers/servers.js';
import { rawRequest } from '../helpers/raw-http.js';

type Expectation = 400 | 401 | 302 | { forwardedAs: string };

/** Sent with `http.request`, so the raw target reaches the gateway as written. */
const ATTACKS: ReadonlyArray<readonly [path: string, expect: Expectation]> = [
  // Dot segments, plain and encoded: resolved, then judged on where they land.
  ['/public/../admin', 401],
  ['/public/%2e%2e/admin', 401],
  ['/public/%2E%2E/admin', 401],
  ['/public/.%2e/admin', 401],
  ['/public/%2e./admin', 401],
  ['/public/./../admin', 401],
  ['/public/x/%2e%2e/%2E%2E/admin', 401],
  ['//public/../admin', 401],
  ['/public//../admin', 401],
  ['/public;/../admin', 401],
  ['/public/x/../../admin?next=/public/x', 401],
  // Encoded separators: one segment to us, two to an upstream that decodes first.
  ['/public/%2fadmin', 400],
  ['/public/%2Fadmin', 400],
  ['/public/..%2fadmin', 400],
  ['/public/..%2Fadmin', 400],
  ['/public%2f..%2fadmin', 400],
  ['/public/%2e%2e%2fadmin', 400],
  ['/public/%5c../admin', 400],
  ['/public/..%5Cadmin', 400],
  ['/public/..\\admin', 400],
  ['/public\\..\\admin', 400],
  // Path parameters and Windows-style disguised dot segments.
  ['/public/..;/admin', 400],
  ['/public/..;jsessionid=x/admin', 400],
  ['/public/%2e%2e;/admin', 400],
  ['/public/..%3b/admin', 400],
  ['/public/.../admin', 400],
  ['/public/..%20/admin', 400],
  // NUL, control characters, malformed and overlong escapes.
  ['/public/%00/admin', 400],
  ['/public/x%00.css', 400],
  ['/public/.%00./admin', 400],
  ['/public/x%0d%0aSet-Cookie:%20a=b', 400],
  ['/public/%c0%ae%c0%ae/admin', 400],
  ['/public/%e0%80%ae%e0%80%ae/admin', 400],
  ['/public/%c0%afadmin', 400],
  ['/public/%', 400],
  ['/public/%zz/admin', 400],
  ['/public/%u002e%u002e/admin', 400],
  ['/public/%%32%65%%32%65/admin', 400],
  // Above the root.
  ['/public/../../admin', 400],
  ['/%2e%2e/public/x', 400],
  ['/../public/x', 400],
  // Case: paths are case-sensitive, so these are not the public tree.
  ['/PUBLIC/admin', 401],
  ['/Public/x', 401],
  ['/%50UBLIC/x', 401],
  ['/admin', 401],
  ['/admin;/public/x', 401],
  ['/publicity', 401],
  // Legitimately public: forwarded with the normalised path, the one that was judged.
  ['/public/a/./b', { forwardedAs: '/public/a/b' }],
  ['/%70ublic/x', { forwardedAs: '/public/x' }],
  ['//public//x', { forwardedAs: '/public/x' }],
  ['/public/%78', { forwardedAs: '/public/x' }],
  ['/public/a/../b', { forwardedAs: '/public/b' }],
  ['/public/a/%2e%2e/b/', { forwardedAs: '/public/b/' }],
  ['/public/%7e%2d%5F', { forwardedAs: '/public/~-_' }],
  ['/public/a%2bb%3fc', { forwardedAs: '/public/a%2Bb%3Fc' }],
  ['/public/caf%c3%a9', { forwardedAs: '/public/caf%C3%A9' }],
  ['/public/%252e%252e/admin', 400],
  ['/public/%25%32%65%25%32%65/admin', 400],
  ['/public/x?a=../../admin&b=%2e%2e', { forwardedAs: '/public/x?a=../../admin&b=%2e%2e' }],
  ['/public', { forwardedAs: '/public' }],
];

/** Things http.request will not send: raw bytes, spaces, control characters, other forms. */
const RAW_ATTACKS: ReadonlyArray<readonly [requestLine: string, expect: Expectation]> = [
  // Node's HTTP parser refuses raw non-ASCII bytes in the request line: clients must escape.
  ['GET /public/caf\u00c3\u00a9 HTTP/1.1', 400],
  ['GET /public/\u00c0\u00ae\u00c0\u00ae/admin HTTP/1.1', 400],
  ['GET /public/\u00ff/admin HTTP/1.1', 400],
  ['GET /public/x\tadmin HTTP/1.1', 400],
  ['GET /public/x\u0001/admin HTTP/1.1', 400],
  ['GET /public/x /../admin HTTP/1.1', 400],
  // Absolute-form: the host and path in the target must not bypass routing or normalisation.
  ['GET http://app.test/admin HTTP/1.1', 400],
  ['GET http://app.test/public/../admin HTTP/1.1', 400],
  ['GET http://evil.test/public/x HTTP/1.1', 400],
  ['GET https://app.test/public/x HTTP/1.1', 400],
  ['OPTIONS * HTTP/1.1', 400],
  ['GET public/x HTTP/1.1', 400],
];

const STACK_TRACE = /\bat\s+[\w.<>]+\s+\(|node:internal|\.[jt]s:\d+|\w*Error:|ECONN|\/work\/|\bsrc\//;

describe('path attacks against a /public/** route', { timeout: 60_000 }, () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = await startUpstream();
    gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/public/**"]
`);
  });
  after(async () => {
    await gw.close();
    await upstream.close();
  });

  function checkOutcome(label: string, status: number, body: string, before: number, expect: Expectation): void {
    const received = upstream.requests.slice(before).map((recorded) => recorded.url);
    if (typeof expect === 'number') {
      assert.equal(status, expect, `${label}: status`);
      assert.deepEqual(received, [], `${label}: nothing may reach the upstream`);
      assert.doesNotMatch(body, STACK_TRACE, `${label}: no internals in the error body`);
    } else {
      assert.equal(status, 200, `${label}: status`);
      assert.deepEqual(received, [expect.forwardedAs], `${label}: forwarded path`);
    }
  }

  for (const [path, expect] of ATTACKS) {
    test(`${JSON.stringify(path)} is ${typeof expect === 'number' ? `answered ${expect} and never forwarded` : `forwarded as ${expect.forwardedAs}`}`, async () => {
      for (const accept of ['application/json', 'text/html']) {
        const before = upstream.requests.length;
        const response = await request(gw.port, { path, headers: { host: 'app.test', accept } });
        // A browser asking for a protected page is sent to sign in (302) instead of a 401.
        const expected = expect === 401 && accept === 'text/html' ? 302 : expect;
        checkOutcome(`${path} (${accept})`, response.status, response.text(), before, expected);
        if (expected === 302) assert.match(String(response.headers.location), /^http:\/\/app\.test\/\.gatehouse\/login\?rd=/);
      }
    });
  }

  for (const [requestLine, expect] of RAW_ATTACKS) {
    test(`the request line ${JSON.stringify(requestLine)} is ${typeof expect === 'number' ? 'refused with 400 and never forwarded' : `forwarded as ${expect.forwardedAs}`}`, async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(gw.port, `${requestLine}\r\nHost: app.test\r\nConnection: close`);
      checkOutcome(requestLine, response.status, response.text(), before, expect);
    });
  }

  test('a CONNECT request is never tunnelled to the upstream', async () => {
    const before = upstream.requests.length;
    const outcome = await rawRequest(gw.port, 'CONNECT 127.0.0.1:' + upstream.port + ' HTTP/1.1\r\nHost: app.test').then(
      (response) => response.status,
      () => 'closed' as const,
    );
    assert.ok(outcome === 'closed' || (outcome >= 400 && outcome < 500), `got ${outcome}`);
    assert.equal(upstream.requests.length, before);
  });

  test('every method is judged on the same normalised path', async () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const before = upstream.requests.length;
      const refused = await request(gw.port, { method, path: '/public/%2e%2e/admin', headers: { host: 'app.test' } });
      assert.equal(refused.status, 401, method);
      const allowed = await request(gw.port, { method, path: '/public/./x', headers: { host: 'app.test' } });
      assert.equal(allowed.status, 200, method);
      assert.deepEqual(
        upstream.requests.slice(before).map((recorded) => `${recorded.method} ${recorded.url}`),
        [`${method} /public/x`],
      );
    }
  });

  test('a 400 answer names no internals, as HTML or JSON', async () => {
    const html = await request(gw.port, { path: '/public/%2fadmin', headers: { host: 'app.test', accept: 'text/html' } });
    assert.equal(html.status, 400);
    assert.match(String(html.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(html.text(), STACK_TRACE);
    assert.doesNotMatch(html.text(), /encoded slash|normaliz|normalis/i, 'the page does not explain the internal reason');
    const json = await request(gw.port, { path: '/public/%2fadmin', headers: { host: 'app.test' } });
    assert.equal(json.status, 400);
    const body = json.json<Record<string, unknown>>();
    assert.equal(body.error, 'bad_request');
    assert.equal(body.stack, undefined);
    assert.doesNotMatch(json.text(), STACK_TRACE);
    // A request line Node's parser refuses gets a bare 400 without any body detail either.
    const malformed = await rawRequest(gw.port, 'GET /public/x HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1\r\nContent-Length: 2\r\nConnection: close');
    assert.equal(malformed.status, 400);
    assert.doesNotMatch(malformed.text(), STACK_TRACE);
  });
});
