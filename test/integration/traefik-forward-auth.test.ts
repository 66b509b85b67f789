/**
 * Traefik v3's forwardAuth middleware against a real gateway, with config/traefik/. Traefik
 * is not packaged for Debian and is not installed here, so the test reads the example and,
 * from its values, builds the request Traefik sends and applies Traefik's rules to the
 * answer. The rules, from Traefik's source (v3.7.9, traefik/traefik@fd5a576d):
 *
 * The question (the wire-shape contract)
 *  - Always GET to `address`, with no body (`preserveRequestMethod: true` keeps the original
 *    method instead, still without a body).
 *    https://github.com/traefik/traefik/blob/fd5a576df2e8aeb0bfc8a96b6ef6e60a61f7ec0a/pkg/middlewares/auth/forward.go#L161-L164
 *  - Every header of the client's request is copied (`authRequestHeaders` unset), except the
 *    hop-by-hop ones — Connection and what it names, Keep-Alive, TE, Trailer,
 *    Transfer-Encoding, Upgrade — and Host: Go keeps it apart, so the question's Host is the
 *    address's. Proxy-Authorization is copied.
 *    forward.go#L38-L45 (hopHeaders), #L428-L432 (writeHeader)
 *  - With `trustForwardHeader: false` the client's X-Forwarded-* and X-Real-Ip (also spelt
 *    with `_`) are deleted, then Traefik sets X-Forwarded-For (the peer's address),
 *    -Method (the original method), -Proto (http, or https on TLS), -Port, -Host (the
 *    original Host, port included) and -Uri (the original request-URI, escaped path and
 *    query).
 *    forward.go#L434-L474;
 *    https://github.com/traefik/traefik/blob/fd5a576df2e8aeb0bfc8a96b6ef6e60a61f7ec0a/pkg/middlewares/forwardedheaders/forwarded_header.go#L37-L51
 *    and #L244-L250
 *  - Go's client writes Host, User-Agent (the client's, none if it sent none), the other
 *    headers sorted by canonical name, and Accept-Encoding: gzip if the client sent none.
 *  - Before the middleware, the entry point cleans `.`/`..` and `//` and decodes encoded
 *    unreserved characters (`sanitizePath`, on by default):
 *    https://github.com/traefik/traefik/blob/fd5a576df2e8aeb0bfc8a96b6ef6e60a61f7ec0a/pkg/server/server_entrypoint_tcp.go#L850-L863
 *
 * The answer
 *  - Any 2xx lets the request through: each `authResponseHeaders` name is deleted from the
 *    client's request, then copied from the answer if the answer has it (forward.go#L320-L326).
 *  - Anything else goes to the client as it is: status, body, every header but the
 *    hop-by-hop ones, Location resolved against the address (forward.go#L285-L312).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { request } from '../helpers/servers.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { signedInCookie, startSignInWorld, type SignInWorld } from '../helpers/sign-in-world.js';
import { questionOf } from '../../src/http/forward-auth-question.js';

// --- config/traefik/, read with its shape checked ------------------------------------------

type Json = unknown;

function record(value: Json, where: string): Record<string, Json> {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${where} is not a mapping`);
  return value as Record<string, Json>;
}
function strings(value: Json, where: string): string[] {
  assert.ok(Array.isArray(value) && value.every((item) => typeof item === 'string'), `${where} is not a list of strings`);
  return value as string[];
}
function text(value: Json, where: string): string {
  assert.equal(typeof value, 'string', `${where} is not a string`);
  return value as string;
}

interface TraefikRouter {
  readonly name: string;
  readonly rule: string;
  readonly entryPoints: readonly string[];
  readonly middlewares: readonly string[];
  readonly service: string;
  /** Traefik's order: the explicit priority, else the length of the rule; highest first. */
  readonly effectivePriority: number;
}

interface TraefikExample {
  readonly entryPoints: Readonly<Record<string, string>>;
  readonly dynamicFile: string;
  readonly routers: readonly TraefikRouter[];
  readonly middlewares: Readonly<Record<string, Record<string, Json>>>;
  readonly serviceUrls: Readonly<Record<string, readonly string[]>>;
  readonly forwardAuthMiddleware: string;
  readonly address: URL;
  readonly trustForwardHeader: Json;
  readonly authResponseHeaders: readonly string[];
}

const TRAEFIK_DIR = fileURLToPath(new URL('../../config/traefik/', import.meta.url));

function readTraefikExample(): TraefikExample {
  const staticConfig = record(parseYaml(readFileSync(join(TRAEFIK_DIR, 'traefik.yaml'), 'utf8')), 'traefik.yaml');
  const entryPoints = Object.fromEntries(
    Object.entries(record(staticConfig.entryPoints, 'entryPoints')).map(([name, entry]) => [name, text(record(entry, name).address, `${name}.address`)]),
  );
  const dynamicFile = text(record(record(staticConfig.providers, 'providers').file, 'providers.file').filename, 'providers.file.filename');
  const dynamicConfig = record(parseYaml(readFileSync(join(TRAEFIK_DIR, basename(dynamicFile)), 'utf8')), 'dynamic.yaml');
  const http = record(dynamicConfig.http, 'http');
  const routers = Object.entries(record(http.routers, 'http.routers')).map(([name, value]): TraefikRouter => {
    const router = record(value, name);
    const rule = text(router.rule, `${name}.rule`);
    return {
      name,
      rule,
      entryPoints: strings(router.entryPoints, `${name}.entryPoints`),
      middlewares: router.middlewares === undefined ? [] : strings(router.middlewares, `${name}.middlewares`),
      service: text(router.service, `${name}.service`),
      effectivePriority: typeof router.priority === 'number' && router.priority > 0 ? router.priority : rule.length,
    };
  });
  const middlewares = Object.fromEntries(Object.entries(record(http.middlewares, 'http.middlewares')).map(([name, value]) => [name, record(value, name)]));
  const serviceUrls = Object.fromEntries(
    Object.entries(record(http.services, 'http.services')).map(([name, value]) => {
      const servers = record(record(value, name).loadBalancer, `${name}.loadBalancer`).servers;
      assert.ok(Array.isArray(servers) && servers.length > 0, `${name} has servers`);
      return [name, servers.map((server, i) => text(record(server, `${name}.servers[${i}]`).url, `${name}.servers[${i}].url`))];
    }),
  );
  const withForwardAuth = Object.entries(middlewares).filter(([, middleware]) => middleware.forwardAuth !== undefined);
  assert.equal(withForwardAuth.length, 1, 'one forwardAuth middleware');
  const [forwardAuthMiddleware, middleware] = withForwardAuth[0]!;
  const forwardAuth = record(middleware.forwardAuth, 'forwardAuth');
  return {
    entryPoints,
    dynamicFile,
    routers,
    middlewares,
    serviceUrls,
    forwardAuthMiddleware,
    address: new URL(text(forwardAuth.address, 'forwardAuth.address')),
    trustForwardHeader: forwardAuth.trustForwardHeader,
    authResponseHeaders: strings(forwardAuth.authResponseHeaders, 'forwardAuth.authResponseHeaders'),
  };
}

function hostOfRule(rule: string): string | undefined {
  return /Host\(`([^`]+)`\)/.exec(rule)?.[1];
}

// --- Traefik's rules, applied to that example ----------------------------------------------

/** Go's textproto.CanonicalMIMEHeaderKey for token names: `x-forwarded-uri` → `X-Forwarded-Uri`. */
function canonical(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** A request as a browser or script sends it to Traefik. */
interface ClientRequest {
  readonly method: string;
  /** The request-URI, as on the request line. */
  readonly uri: string;
  readonly host: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

const HOP_BY_HOP = ['Connection', 'Keep-Alive', 'Te', 'Trailer', 'Transfer-Encoding', 'Upgrade'];
/** forwardedheaders.XHeadersSet */
const TRAEFIK_X_HEADERS = new Set([
  'X-Forwarded-Proto', 'X-Forwarded-Scheme', 'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Forwarded-Server', 'X-Forwarded-Uri',
  'X-Forwarded-Method', 'X-Forwarded-Prefix', 'X-Forwarded-Tls-Client-Cert', 'X-Forwarded-Tls-Client-Cert-Info', 'X-Scheme', 'X-Real-Ip',
]);
/** Traefik's peer: the guest's address as Traefik sees the connection. */
const GUEST_ADDRESS = '203.0.113.9';

/** The client request as Go's server holds it: canonical names, Host apart. */
function asTraefikHoldsIt(client: ClientRequest): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  for (const [name, value] of client.headers) {
    const key = canonical(name);
    if (key === 'Host' || key === 'Transfer-Encoding') continue;
    headers.set(key, [...(headers.get(key) ?? []), value]);
  }
  return headers;
}

/** The request head Traefik's forwardAuth writes to the gateway for `client` (writeHeader, trustForwardHeader false). */
function traefikQuestion(example: TraefikExample, client: ClientRequest, options: { preserveRequestMethod?: boolean } = {}): string {
  assert.equal(example.trustForwardHeader, false, 'this model is writeHeader with trustForwardHeader: false');
  const headers = asTraefikHoldsIt(client);
  for (const listed of headers.get('Connection') ?? []) for (const token of listed.split(',')) headers.delete(canonical(token.trim()));
  for (const name of HOP_BY_HOP) headers.delete(name);
  for (const name of [...headers.keys()]) if (TRAEFIK_X_HEADERS.has(canonical(name.replaceAll('_', '-')))) headers.delete(name);
  const port = /:(\d+)$/.exec(client.host)?.[1] ?? '80';
  headers.set('X-Forwarded-For', [GUEST_ADDRESS]);
  headers.set('X-Forwarded-Method', [client.method]);
  headers.set('X-Forwarded-Proto', ['http']);
  headers.set('X-Forwarded-Port', [port]);
  headers.set('X-Forwarded-Host', [client.host]);
  headers.set('X-Forwarded-Uri', [client.uri]);
  const method = options.preserveRequestMethod ? client.method : 'GET';
  const lines = [`${method} ${example.address.pathname}${example.address.search} HTTP/1.1`, `Host: ${example.address.host}`];
  const userAgent = headers.get('User-Agent')?.[0];
  if (userAgent) lines.push(`User-Agent: ${userAgent}`);
  if (['POST', 'PUT', 'PATCH'].includes(method)) lines.push('Content-Length: 0');
  for (const name of [...headers.keys()].sort()) {
    if (name === 'User-Agent' || name === 'Content-Length') continue;
    for (const value of headers.get(name)!) lines.push(`${name}: ${value}`);
  }
  if (!headers.has('Accept-Encoding') && method !== 'HEAD') lines.push('Accept-Encoding: gzip');
  return lines.join('\r\n');
}

type TraefikOutcome =
  | { readonly kind: 'allowed'; readonly toApp: ReadonlyMap<string, readonly string[]> }
  | { readonly kind: 'denied'; readonly status: number; readonly toClient: ReadonlyMap<string, string>; readonly body: string };

/** What Traefik makes of the gateway's answer for `client`. */
function traefikOutcome(example: TraefikExample, client: ClientRequest, answer: RawResponse): TraefikOutcome {
  if (answer.status >= 200 && answer.status < 300) {
    const toApp = asTraefikHoldsIt(client);
    for (const name of example.authResponseHeaders) {
      const key = canonical(name);
      toApp.delete(key);
      const values = answer.headers[key.toLowerCase()];
      if (values !== undefined && values.length > 0) toApp.set(key, values);
    }
    return { kind: 'allowed', toApp };
  }
  const hopByHop = new Set(HOP_BY_HOP.map((name) => name.toLowerCase()));
  const toClient = new Map(Object.entries(answer.headers).flatMap(([name, values]) => (hopByHop.has(name) ? [] : [[name, values.join(', ')] as const])));
  const location = answer.headers.location?.[0];
  if (location !== undefined) toClient.set('location', new URL(location, example.address).href);
  return { kind: 'denied', status: answer.status, toClient, body: answer.text() };
}

const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'cache-control', 'content-length']);

// --- the tests ---------------------------------------------------------------------------

const example = readTraefikExample();
const appRouter = example.routers.find((router) => router.middlewares.includes(example.forwardAuthMiddleware));
assert.ok(appRouter, 'a router uses the forwardAuth middleware');
const appHost = hostOfRule(appRouter.rule);
assert.ok(appHost, 'the app router names its host');
const APP = `http://${appHost}`;

function browser(method: string, uri: string, extra: ReadonlyArray<readonly [string, string]> = []): ClientRequest {
  return {
    method,
    uri,
    host: appHost!,
    headers: [
      ['Host', appHost!],
      ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0'],
      ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
      ['Accept-Language', 'en-GB,en;q=0.5'],
      ['Accept-Encoding', 'gzip, deflate, br'],
      ['Connection', 'keep-alive'],
      ...extra,
    ],
  };
}

function script(method: string, uri: string, extra: ReadonlyArray<readonly [string, string]> = []): ClientRequest {
  return { method, uri, host: appHost!, headers: [['Host', appHost!], ['Accept', 'application/json'], ...extra] };
}

describe('config/traefik', () => {
  test('traefik.yaml: entry point web on :80, the file provider reading dynamic.yaml next to it', () => {
    assert.equal(example.entryPoints.web, ':80');
    assert.equal(basename(example.dynamicFile), 'dynamic.yaml');
    assert.ok(existsSync(join(TRAEFIK_DIR, 'dynamic.yaml')));
    assert.equal(basename(dirname(example.dynamicFile)), 'traefik', 'mounted as /etc/traefik/, the directory Traefik reads by default');
  });

  test('the middleware asks /.gatehouse/auth/forward on the gateway, deleting the client’s X-Forwarded-*', () => {
    assert.equal(example.address.pathname, '/.gatehouse/auth/forward');
    assert.equal(questionOf(example.address.pathname + example.address.search), 'forward');
    assert.equal(example.trustForwardHeader, false, 'false, not unset: unset keeps the legacy writer and a warning');
    assert.deepEqual(example.serviceUrls.gatehouse?.map((url) => new URL(url).origin), [example.address.origin], 'the sign-in pages and the questions go to the same gateway');
  });

  test('the app host: everything through the middleware, /.gatehouse/ straight to the gateway and chosen first', () => {
    assert.deepEqual(appRouter.middlewares, [example.forwardAuthMiddleware]);
    assert.ok(example.serviceUrls[appRouter.service], `service ${appRouter.service}`);
    const pages = example.routers.filter((router) => router.rule.includes('PathPrefix(`/.gatehouse/`)'));
    assert.equal(pages.length, 1, 'one router for /.gatehouse/');
    const pagesRouter = pages[0]!;
    assert.equal(hostOfRule(pagesRouter.rule), appHost, 'on the app’s own host');
    assert.deepEqual(pagesRouter.middlewares, [], 'no forwardAuth: a guest must reach the sign-in page');
    assert.equal(pagesRouter.service, 'gatehouse');
    assert.ok(pagesRouter.effectivePriority > appRouter.effectivePriority, `priority ${pagesRouter.effectivePriority} over ${appRouter.effectivePriority}`);
    for (const router of example.routers) for (const entryPoint of router.entryPoints) assert.ok(example.entryPoints[entryPoint], `${router.name}: entry point ${entryPoint}`);
    for (const router of example.routers) for (const name of router.middlewares) assert.ok(example.middlewares[name], `${router.name}: middleware ${name}`);
  });
});

const ROUTES = (upstream: string) => `  - name: app
    from: ${APP}/
    to: ${upstream}
    allow: ["*@example.com", "group:partners"]
    public: ["/open/**"]
  - name: other
    from: http://other.test/
    to: ${upstream}
    allow: ["carol@elsewhere.test"]`;

describe('Traefik forwardAuth against a real gateway', () => {
  let world: SignInWorld;
  let bob: string;
  let alice: string;
  let carol: string;


  async function traefikAsks(client: ClientRequest, options: { preserveRequestMethod?: boolean } = {}): Promise<{ head: string; answer: RawResponse; outcome: TraefikOutcome }> {
    const head = traefikQuestion(example, client, options);
    const answer = await rawRequest(world.gw.port, head);
    return { head, answer, outcome: traefikOutcome(example, client, answer) };
  }

  before(async () => {
    // Only 127.0.0.1 is Traefik; 127.0.0.2 is a stranger on the same machine.
    world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]', ROUTES);
    bob = await signedInCookie(world, 'bob@example.com', appHost);
    alice = await signedInCookie(world, 'alice@partner.test', appHost);
    carol = await signedInCookie(world, 'carol@elsewhere.test', 'other.test');
  });
  after(() => world.close());

  test('the question has the exact shape Traefik sends: GET, the client’s headers, Traefik’s X-Forwarded-*', async () => {
    const client = browser('POST', '/reports?q=1', [
      ['Cookie', bob],
      ['Content-Type', 'application/x-www-form-urlencoded'],
      ['Content-Length', '9'],
      ['X-Forwarded-Uri', '/open/anything'],
      ['X_Forwarded_Host', 'evil.test'],
      ['X-Real-Ip', '10.9.9.9'],
    ]);
    const { head, answer } = await traefikAsks(client);
    const lines = head.split('\r\n');
    assert.equal(lines[0], 'GET /.gatehouse/auth/forward HTTP/1.1');
    assert.equal(lines[1], `Host: ${example.address.host}`);
    const names = lines.slice(1).map((line) => line.slice(0, line.indexOf(':')));
    assert.deepEqual(names, [
      'Host', 'User-Agent', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Content-Type', 'Cookie',
      'X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Method', 'X-Forwarded-Port', 'X-Forwarded-Proto', 'X-Forwarded-Uri',
    ]);
    assert.ok(lines.includes('X-Forwarded-Uri: /reports?q=1'), 'the client’s own X-Forwarded-Uri is gone, Traefik’s is the real one');
    assert.ok(lines.includes(`X-Forwarded-Host: ${appHost}`));
    assert.ok(lines.includes('X-Forwarded-Method: POST'));
    assert.equal(answer.status, 200, 'bob may use the app');
  });

  test('signed-out browser page: 302 to the sign-in page on the app host, handed to the guest as is', async () => {
    const { answer, outcome } = await traefikAsks(browser('GET', '/reports?q=1'));
    assert.equal(answer.status, 302);
    assert.ok(outcome.kind === 'denied');
    assert.equal(outcome.status, 302);
    assert.equal(outcome.toClient.get('location'), `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/reports?q=1`)}`);
    assert.equal(outcome.toClient.get('cache-control'), 'no-store');
    assert.equal(outcome.toClient.get('connection'), undefined, 'hop-by-hop headers stay behind');

    const api = await traefikAsks(script('GET', '/api/items'));
    assert.equal(api.answer.status, 401);
    assert.ok(api.outcome.kind === 'denied');
    assert.equal((JSON.parse(api.outcome.body) as { error: string }).error, 'unauthenticated');
  });

  test('signed in: 200, and every identity header is copied onto the request to the app', async () => {
    const client = browser('GET', '/reports', [['Cookie', alice]]);
    const { answer, outcome } = await traefikAsks(client);
    assert.equal(answer.status, 200);
    assert.ok(outcome.kind === 'allowed');
    assert.deepEqual(outcome.toApp.get('X-Auth-Request-Email'), ['alice@partner.test']);
    assert.deepEqual(outcome.toApp.get('X-Forwarded-User'), ['alice@partner.test']);
    assert.deepEqual(outcome.toApp.get('X-Auth-Request-Groups'), ['partners']);
    assert.match(outcome.toApp.get('X-Gatehouse-Assertion')?.[0] ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/);

    for (const cookie of [bob, alice]) {
      const asked = await traefikAsks(browser('GET', '/', [['Cookie', cookie]]));
      const identity = Object.keys(asked.answer.headers).filter((name) => !TRANSPORT_HEADERS.has(name));
      assert.ok(identity.includes('x-gatehouse-assertion') && identity.includes('x-auth-request-email'), identity.join());
      for (const name of identity) assert.ok(example.authResponseHeaders.some((listed) => listed.toLowerCase() === name), `authResponseHeaders lists ${name}`);
    }
  });

  test('a client’s own identity headers never reach the app, signed in or on a public path', async () => {
    const spoofed: Array<[string, string]> = [['X-Auth-Request-Email', 'admin@example.com'], ['X-Gatehouse-Assertion', 'forged.jwt.value']];
    const publicPage = browser('GET', '/open/readme', spoofed);
    const { answer, outcome } = await traefikAsks(publicPage);
    assert.equal(answer.status, 200);
    assert.ok(outcome.kind === 'allowed');
    for (const [name] of spoofed) assert.ok(!outcome.toApp.get(name)?.some((value) => value !== ''), `${name}: absent or empty, never the client's`);
    const signedIn = await traefikAsks(browser('GET', '/x', [...spoofed, ['Cookie', bob]]));
    assert.ok(signedIn.outcome.kind === 'allowed');
    assert.deepEqual(signedIn.outcome.toApp.get('X-Auth-Request-Email'), ['bob@example.com']);
  });

  test('the original method comes from X-Forwarded-Method, not from the GET that asks', async () => {
    const form: Array<[string, string]> = [['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '9']];
    assert.equal((await traefikAsks(browser('GET', '/form'))).answer.status, 302, 'a page to come back to after signing in');
    const post = await traefikAsks(browser('POST', '/form', form));
    assert.match(post.head, /^GET [^\r]*\r\n[\s\S]*\r\nX-Forwarded-Method: POST\r\n/);
    assert.equal(post.answer.status, 401, 'a form POST is no page to come back to: 401, as in proxy mode');
    assert.equal((await traefikAsks(browser('POST', '/form', [...form, ['Cookie', bob]]))).answer.status, 200);
    // preserveRequestMethod: true asks with the original method and no body: the same answers.
    const preserved = await traefikAsks(browser('POST', '/form', form), { preserveRequestMethod: true });
    assert.match(preserved.head, /^POST \/\.gatehouse\/auth\/forward HTTP\/1\.1\r\n/);
    assert.equal(preserved.answer.status, 401);
    for (const method of ['PUT', 'DELETE', 'PATCH']) assert.equal((await traefikAsks(script(method, '/api/items/1', [['Cookie', bob]]))).answer.status, 200, method);
  });

  test('signed in as someone the app does not allow: the 403 page reaches the guest', async () => {
    const { answer, outcome } = await traefikAsks(browser('GET', '/reports', [['Cookie', carol]]));
    assert.equal(answer.status, 403);
    assert.ok(outcome.kind === 'denied');
    assert.equal(outcome.toClient.get('content-type'), 'text/html; charset=utf-8');
    assert.match(outcome.toClient.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(outcome.body, /carol@elsewhere\.test/);
    assert.equal(answer.headers['x-auth-request-email'], undefined, 'no identity with a refusal');
  });

  test('with sanitizePath off, the gateway still decides about the canonical path', async () => {
    for (const [uri, status] of [['/open/readme', 200], ['/open/../reports', 401], ['/open/%2e%2e/reports', 401], ['/open/..%2Freports', 400], ['/../../etc/passwd', 400]] as const) {
      assert.equal((await traefikAsks(script('GET', uri))).answer.status, status, uri);
    }
    const back = await traefikAsks(browser('GET', '/open/../reports?x=1'));
    assert.ok(back.outcome.kind === 'denied');
    assert.equal(back.outcome.toClient.get('location'), `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/reports?x=1`)}`);
  });

  test('an untrusted peer asking the same gets 403', async () => {
    const [requestLine, ...headerLines] = traefikQuestion(example, script('GET', '/reports', [['Cookie', bob]])).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) headers[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 2);
    const answer = await request(world.gw.port, { localAddress: '127.0.0.2', method: 'GET', path: requestLine!.split(' ')[1], headers });
    assert.equal(answer.status, 403);
    assert.equal(answer.json<{ error: string }>().error, 'forward_auth_untrusted');
    assert.equal(answer.headers['x-auth-request-email'], undefined);
  });
});
