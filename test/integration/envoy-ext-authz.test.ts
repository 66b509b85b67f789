/**
 * Envoy's ext_authz filter (HTTP service) against a real gateway, with config/envoy.yaml.
 * Envoy cannot be installed here, so the test reads the example and, from its values, builds
 * the check request Envoy sends and applies Envoy's rules to the answer. The rules, from
 * Envoy's source (main, early 2026; protos at envoyproxy/data-plane-api@84e84367):
 *
 * The check request (the wire-shape contract)
 *  - One HTTP/1.1 request to the cluster of `server_uri` (its `uri` is not used for Host or
 *    path). Method: the ORIGINAL method (`:method` is copied from the client request).
 *    Path: `path_prefix` + the original `:path`, query included — so the prefix must not end
 *    in `/`. Host: the original `:authority`. `content-length: 0` and no body, whatever the
 *    original method (unless `with_request_body`).
 *    https://github.com/envoyproxy/envoy/blob/main/source/extensions/filters/common/ext_authz/ext_authz_http_impl.cc
 *    (RawHttpClientImpl::check: `lengthZeroHeader()`, `absl::StrCat(pathPrefix(), ...)` on
 *    `:path`, every other CheckRequest header copied as is)
 *  - Client headers: only those matching `ExtAuthz.allowed_headers`, plus `:authority`,
 *    `:method`, `:path` and `authorization`, which are always added; repeated names are
 *    joined with `,`. `http_service.authorization_request.allowed_headers` is the deprecated
 *    spelling (an error together with the new field).
 *    https://github.com/envoyproxy/envoy/blob/main/source/extensions/filters/common/ext_authz/check_request_utils.cc
 *    (CheckRequestUtils::toRequestMatchers, setHttpRequest);
 *    https://github.com/envoyproxy/envoy/blob/main/source/extensions/filters/http/ext_authz/ext_authz.cc
 *    (FilterConfig: "Invalid duplicate configuration for allowed_headers");
 *    https://github.com/envoyproxy/data-plane-api/blob/84e84367f2560cdb47b9bb78fd3e615feb80c3e4/envoy/extensions/filters/http/ext_authz/v3/ext_authz.proto#L229-L252
 *    and #L460-L479 (deprecated_at_minor_version "3.0")
 *  - What the connection manager put on the request before the filter ran is what is seen:
 *    with `use_remote_address: true`, `x-forwarded-proto` from the listener and the client's
 *    address appended to `x-forwarded-for`; an `x-request-id`. Envoy's async client then adds
 *    `x-envoy-internal: true` and appends Envoy's own address to `x-forwarded-for`
 *    (StreamOptions `send_xff{true}`, `send_internal{true}`):
 *    https://github.com/envoyproxy/envoy/blob/main/envoy/http/async_client.h
 *
 * The answer
 *  - Exactly 200 is OK: headers matching `allowed_upstream_headers` are set on the request to
 *    the app (replacing the client's), then those named in `x-envoy-auth-headers-to-remove`
 *    are removed. A 202 or 204 is a denial.
 *  - 5xx (or no answer): an error; the client gets `status_on_error` (default 403) with an
 *    empty body, or the request passes with `failure_mode_allow: true`.
 *  - Anything else is a denial handed to the client: the status, the body, and the headers
 *    matching `allowed_client_headers` plus `location`, `content-length` and
 *    `www-authenticate` (all but Host when the list is empty).
 *    ext_authz_http_impl.cc (RawHttpClientImpl::toResponse, ClientConfig::toClientMatchers);
 *    ext_authz.cc (Filter::onComplete); ext_authz.proto #L489-L531, ExtAuthzPerRoute #L534-L550.
 *  - Headers a client sent itself under an identity header's name stay on the request when
 *    the answer has none (a public path): config/envoy.yaml removes them first with the
 *    header_mutation filter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { request } from '../helpers/servers.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { signedInCookie, startSignInWorld, type SignInWorld } from '../helpers/sign-in-world.js';
import { questionOf } from '../../src/http/forward-auth-question.js';

// --- config/envoy.yaml, read with its shape checked ------------------------------------

type Json = unknown;

function record(value: Json, where: string): Record<string, Json> {
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${where} is not a mapping`);
  return value as Record<string, Json>;
}
function list(value: Json, where: string): Json[] {
  assert.ok(Array.isArray(value), `${where} is not a list`);
  return value;
}
function text(value: Json, where: string): string {
  assert.equal(typeof value, 'string', `${where} is not a string`);
  return value as string;
}
function named(items: Json[], name: string, where: string): Record<string, Json> {
  const found = items.map((item, i) => record(item, `${where}[${i}]`)).find((item) => item.name === name);
  assert.ok(found, `${where} has no entry named ${name}`);
  return found;
}

interface StringMatcher {
  readonly exact?: string;
  readonly prefix?: string;
  readonly suffix?: string;
  readonly contains?: string;
  readonly ignore_case?: boolean;
}

function matchersOf(value: Json, where: string): StringMatcher[] {
  return list(record(value, where).patterns, `${where}.patterns`).map((pattern, i) => {
    const matcher = record(pattern, `${where}.patterns[${i}]`);
    assert.ok(['exact', 'prefix', 'suffix', 'contains'].some((kind) => typeof matcher[kind] === 'string'), `${where}.patterns[${i}] is no string matcher Envoy would apply`);
    return matcher as StringMatcher;
  });
}

/** Envoy's StringMatcher on a (lower-case) header name. */
function matchesAny(matchers: readonly StringMatcher[], name: string): boolean {
  return matchers.some((matcher) => {
    const fold = (value: string) => (matcher.ignore_case ? value.toLowerCase() : value);
    const key = fold(name);
    if (matcher.exact !== undefined) return key === fold(matcher.exact);
    if (matcher.prefix !== undefined) return key.startsWith(fold(matcher.prefix));
    if (matcher.suffix !== undefined) return key.endsWith(fold(matcher.suffix));
    return matcher.contains !== undefined && key.includes(fold(matcher.contains));
  });
}

interface EnvoyRoute {
  readonly prefix: string;
  readonly cluster: string;
  readonly extAuthzDisabled: boolean;
}

interface EnvoyExample {
  readonly listenerPort: number;
  readonly useRemoteAddress: boolean;
  readonly appHost: string;
  readonly routes: readonly EnvoyRoute[];
  readonly filterNames: readonly string[];
  /** Header names the header_mutation filter removes before the check. */
  readonly strippedFromClient: readonly string[];
  readonly extAuthz: Record<string, Json>;
  readonly serviceCluster: string;
  readonly pathPrefix: string;
  readonly allowedHeaders: readonly StringMatcher[];
  readonly upstreamHeaders: readonly StringMatcher[];
  readonly clientHeaders: readonly StringMatcher[];
  readonly statusOnError: number;
  readonly clusters: readonly string[];
}

const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute';
const STATUS_CODES: Readonly<Record<string, number>> = { Forbidden: 403, ServiceUnavailable: 503, Unauthorized: 401, InternalServerError: 500 };

function readEnvoyExample(): EnvoyExample {
  const file = fileURLToPath(new URL('../../config/envoy.yaml', import.meta.url));
  const root = record(parseYaml(readFileSync(file, 'utf8')), 'envoy.yaml');
  const resources = record(root.static_resources, 'static_resources');
  const listener = record(list(resources.listeners, 'listeners')[0], 'listeners[0]');
  const port = record(record(listener.address, 'address').socket_address, 'socket_address').port_value;
  const chain = record(list(listener.filter_chains, 'filter_chains')[0], 'filter_chains[0]');
  const hcm = record(named(list(chain.filters, 'filters'), 'envoy.filters.network.http_connection_manager', 'filters').typed_config, 'hcm');
  const virtualHosts = list(record(hcm.route_config, 'route_config').virtual_hosts, 'virtual_hosts');
  assert.equal(virtualHosts.length, 1, 'one virtual host: the app');
  const virtualHost = record(virtualHosts[0], 'virtual_hosts[0]');
  const routes = list(virtualHost.routes, 'routes').map((item, i): EnvoyRoute => {
    const route = record(item, `routes[${i}]`);
    const perFilter = route.typed_per_filter_config === undefined ? undefined : record(route.typed_per_filter_config, `routes[${i}].typed_per_filter_config`);
    const perRoute = perFilter?.['envoy.filters.http.ext_authz'] === undefined ? undefined : record(perFilter['envoy.filters.http.ext_authz'], 'ExtAuthzPerRoute');
    if (perRoute !== undefined) assert.equal(perRoute['@type'], PER_ROUTE_TYPE);
    return {
      prefix: text(record(route.match, `routes[${i}].match`).prefix, `routes[${i}].match.prefix`),
      cluster: text(record(route.route, `routes[${i}].route`).cluster, `routes[${i}].route.cluster`),
      extAuthzDisabled: perRoute?.disabled === true,
    };
  });
  const filters = list(hcm.http_filters, 'http_filters').map((item, i) => record(item, `http_filters[${i}]`));
  const mutation = filters.find((filter) => filter.name === 'envoy.filters.http.header_mutation');
  const strippedFromClient = mutation
    ? list(record(record(mutation.typed_config, 'header_mutation').mutations, 'mutations').request_mutations, 'request_mutations').flatMap((item) => {
        const remove = record(item, 'request_mutation').remove;
        return typeof remove === 'string' ? [remove.toLowerCase()] : [];
      })
    : [];
  const extAuthz = record(named(filters, 'envoy.filters.http.ext_authz', 'http_filters').typed_config, 'ext_authz');
  assert.equal(extAuthz['@type'], EXT_AUTHZ_TYPE);
  const service = record(extAuthz.http_service, 'http_service');
  const response = record(service.authorization_response, 'authorization_response');
  const statusOnError = extAuthz.status_on_error === undefined ? 403 : STATUS_CODES[text(record(extAuthz.status_on_error, 'status_on_error').code, 'status_on_error.code')];
  assert.ok(statusOnError !== undefined, 'status_on_error.code is a code this test knows');
  return {
    listenerPort: Number(port),
    useRemoteAddress: hcm.use_remote_address === true,
    appHost: text(list(virtualHost.domains, 'domains')[0], 'domains[0]'),
    routes,
    filterNames: filters.map((filter) => text(filter.name, 'http filter name')),
    strippedFromClient,
    extAuthz,
    serviceCluster: text(record(service.server_uri, 'server_uri').cluster, 'server_uri.cluster'),
    pathPrefix: text(service.path_prefix, 'path_prefix'),
    allowedHeaders: matchersOf(extAuthz.allowed_headers, 'allowed_headers'),
    upstreamHeaders: matchersOf(response.allowed_upstream_headers, 'allowed_upstream_headers'),
    clientHeaders: matchersOf(response.allowed_client_headers, 'allowed_client_headers'),
    statusOnError,
    clusters: list(resources.clusters, 'clusters').map((item, i) => text(record(item, `clusters[${i}]`).name, `clusters[${i}].name`)),
  };
}

// --- Envoy's rules, applied to that example ----------------------------------------------

/** A request as a browser or script sends it to Envoy. */
interface ClientRequest {
  readonly method: string;
  readonly path: string;
  /** Lower-case names, in order; `host` is the `:authority`. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** Envoy's own address: where its check requests come from (in trust_proxy). */
const ENVOY_ADDRESS = '127.0.0.1';
/** The guest's address, as Envoy sees the downstream connection. */
const GUEST_ADDRESS = '203.0.113.9';
const REQUEST_ID = '6f1c1d1e-8a4b-4e1f-9c1a-3b2f6d5e4a70';

/** Always copied into the check request, whatever `allowed_headers` says (toRequestMatchers). */
const ALWAYS_ASKED = new Set([':authority', ':method', ':path', 'authorization']);
/** Always handed to the client on a denial when `allowed_client_headers` is set (toClientMatchers). */
const ALWAYS_TO_CLIENT = new Set(['location', 'content-length', 'www-authenticate']);

/** The client request after the connection manager and the header_mutation filter. */
function asEnvoyHoldsIt(example: EnvoyExample, client: ClientRequest): Array<[string, string]> {
  const held: Array<[string, string]> = client.headers
    .filter(([name]) => !example.strippedFromClient.includes(name))
    .filter(([name]) => !(example.useRemoteAddress && (name === 'x-forwarded-proto' || name === 'x-request-id')))
    .map(([name, value]) => [name === 'host' ? ':authority' : name, value]);
  if (example.useRemoteAddress) {
    const forwardedFor = held.find(([name]) => name === 'x-forwarded-for');
    if (forwardedFor) forwardedFor[1] = `${forwardedFor[1]},${GUEST_ADDRESS}`;
    else held.push(['x-forwarded-for', GUEST_ADDRESS]);
    held.push(['x-forwarded-proto', 'http'], ['x-request-id', REQUEST_ID]);
  }
  return held;
}

/** The request head Envoy's ext_authz HTTP client writes to the gateway for `client`. */
function envoyCheckRequest(example: EnvoyExample, client: ClientRequest, pathPrefix = example.pathPrefix): string {
  const asked = new Map<string, string>();
  for (const [name, value] of asEnvoyHoldsIt(example, client)) {
    if (name === 'content-length') continue;
    if (!ALWAYS_ASKED.has(name) && !matchesAny(example.allowedHeaders, name)) continue;
    const before = asked.get(name);
    asked.set(name, before === undefined ? value : `${before},${value}`);
  }
  const lines = [`${client.method} ${pathPrefix}${client.path} HTTP/1.1`, `host: ${asked.get(':authority') ?? ''}`, 'content-length: 0'];
  for (const [name, value] of asked) {
    if (name.startsWith(':') || name === 'x-forwarded-for') continue;
    lines.push(`${name}: ${value}`);
  }
  const forwardedFor = asked.get('x-forwarded-for');
  lines.push(`x-forwarded-for: ${forwardedFor === undefined ? '' : `${forwardedFor},`}${ENVOY_ADDRESS}`, 'x-envoy-internal: true');
  return lines.join('\r\n');
}

type EnvoyOutcome =
  | { readonly kind: 'allowed'; readonly toApp: ReadonlyMap<string, string>; readonly remove: readonly string[] }
  | { readonly kind: 'denied'; readonly status: number; readonly toClient: ReadonlyMap<string, string>; readonly body: string }
  | { readonly kind: 'error'; readonly status: number };

/** What Envoy makes of the gateway's answer. */
function envoyOutcome(example: EnvoyExample, answer: RawResponse): EnvoyOutcome {
  const pick = (keep: (name: string) => boolean) => new Map(Object.entries(answer.headers).flatMap(([name, values]) => (keep(name) ? [[name, values.join(',')] as const] : [])));
  if (answer.status >= 500) return { kind: 'error', status: example.statusOnError };
  if (answer.status === 200) {
    const remove = (answer.headers['x-envoy-auth-headers-to-remove'] ?? []).join(',').split(',').map((name) => name.trim()).filter(Boolean);
    return { kind: 'allowed', toApp: pick((name) => matchesAny(example.upstreamHeaders, name)), remove };
  }
  return { kind: 'denied', status: answer.status, body: answer.text(), toClient: pick((name) => ALWAYS_TO_CLIENT.has(name) || matchesAny(example.clientHeaders, name)) };
}

/** The headers the app receives for an allowed request: the client's, Envoy's rules applied. */
function headersForApp(example: EnvoyExample, client: ClientRequest, outcome: EnvoyOutcome): Map<string, string> {
  assert.equal(outcome.kind, 'allowed');
  const headers = new Map(asEnvoyHoldsIt(example, client));
  if (outcome.kind === 'allowed') {
    for (const [name, value] of outcome.toApp) headers.set(name, value);
    // Then Envoy removes what the answer names in x-envoy-auth-headers-to-remove.
    for (const name of outcome.remove) headers.delete(name);
  }
  return headers;
}

/** Headers of a gateway answer that belong to the connection, not to the answer. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

// --- the tests ---------------------------------------------------------------------------

const example = readEnvoyExample();
const APP = `http://${example.appHost}`;

/** What a browser sends for a page. */
function browser(method: string, path: string, extra: ReadonlyArray<readonly [string, string]> = []): ClientRequest {
  return {
    method,
    path,
    headers: [
      ['host', example.appHost],
      ['user-agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0'],
      ['accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
      ['accept-language', 'en-GB,en;q=0.5'],
      ['accept-encoding', 'gzip, deflate, br'],
      ['sec-fetch-mode', 'navigate'],
      ...extra,
    ],
  };
}

/** What a script sends to an API. */
function script(method: string, path: string, extra: ReadonlyArray<readonly [string, string]> = []): ClientRequest {
  return { method, path, headers: [['host', example.appHost], ['accept', 'application/json'], ...extra] };
}

describe('config/envoy.yaml', () => {
  test('routes /.gatehouse/ on the app host to the gateway, unchecked, before everything else goes to the app', () => {
    assert.equal(example.listenerPort, 8000);
    assert.deepEqual(
      example.routes.map((route) => [route.prefix, route.cluster, route.extAuthzDisabled]),
      [
        ['/.gatehouse/', 'gatehouse', true],
        ['/', 'app', false],
      ],
      'Envoy takes the first matching route: /.gatehouse/ must come first, and only it skips the check',
    );
    for (const cluster of ['gatehouse', 'app']) assert.ok(example.clusters.includes(cluster), `cluster ${cluster}`);
    assert.equal(example.serviceCluster, 'gatehouse');
  });

  test('strips the identity headers, asks, then routes: the filters in that order, fail closed', () => {
    assert.deepEqual(example.filterNames, ['envoy.filters.http.header_mutation', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    assert.equal(example.extAuthz.failure_mode_allow, false);
    assert.equal(example.statusOnError, 503, "the gateway's 503 (store down) stays a 503, not Envoy's default 403");
    assert.equal(example.useRemoteAddress, true, "a client's X-Forwarded-Proto would otherwise reach the gateway");
  });

  test('the path prefix names the ext endpoint, and the request headers the gateway reads are allowed', () => {
    assert.equal(example.pathPrefix, '/.gatehouse/auth/ext');
    assert.equal(questionOf(`${example.pathPrefix}/reports?q=1`), 'ext');
    assert.ok(!example.pathPrefix.endsWith('/'), 'Envoy appends a path that starts with /');
    // The v3 field; both spellings at once make Envoy refuse the config.
    assert.equal(record(example.extAuthz.http_service, 'http_service').authorization_request, undefined);
    for (const name of ['cookie', 'accept', 'accept-language', 'x-forwarded-proto', 'x-forwarded-for', 'x-request-id', 'origin', 'sec-websocket-key']) {
      assert.ok(matchesAny(example.allowedHeaders, name), `allowed_headers lets ${name} through`);
    }
    // Hop-by-hop: an `upgrade` on the check request would make Node treat it as an upgrade.
    for (const name of ['upgrade', 'connection', 'content-length']) assert.ok(!matchesAny(example.allowedHeaders, name), `${name} is not asked with`);
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

describe('Envoy ext_authz against a real gateway', () => {
  let world: SignInWorld;
  let bob: string;
  let alice: string;
  let carol: string;


  /** Envoy asks the gateway about `client`: the raw answer and what Envoy makes of it. */
  async function envoyAsks(client: ClientRequest, pathPrefix?: string): Promise<{ answer: RawResponse; outcome: EnvoyOutcome; head: string }> {
    const head = envoyCheckRequest(example, client, pathPrefix);
    const answer = await rawRequest(world.gw.port, head);
    return { answer, outcome: envoyOutcome(example, answer), head };
  }

  before(async () => {
    // Only 127.0.0.1 is Envoy; 127.0.0.2 is a stranger on the same machine.
    world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]', ROUTES);
    bob = await signedInCookie(world, 'bob@example.com', example.appHost);
    alice = await signedInCookie(world, 'alice@partner.test', example.appHost);
    carol = await signedInCookie(world, 'carol@elsewhere.test', 'other.test');
  });
  after(() => world.close());

  test('the check request has the exact shape Envoy sends', async () => {
    const { head } = await envoyAsks(browser('POST', '/form?x=1', [['content-type', 'application/x-www-form-urlencoded'], ['content-length', '11'], ['cookie', bob]]));
    const lines = head.split('\r\n');
    assert.equal(lines[0], `POST /.gatehouse/auth/ext/form?x=1 HTTP/1.1`);
    assert.deepEqual(
      lines.slice(1).map((line) => line.slice(0, line.indexOf(':'))).sort(),
      ['accept', 'accept-language', 'content-length', 'cookie', 'host', 'x-envoy-internal', 'x-forwarded-for', 'x-forwarded-proto', 'x-request-id'],
      'user-agent, accept-encoding, sec-fetch-*, content-type are not allowed_headers and stay behind',
    );
    assert.ok(lines.includes('content-length: 0'), 'no body, whatever the original method');
    assert.ok(lines.includes(`x-forwarded-for: ${GUEST_ADDRESS},${ENVOY_ADDRESS}`));
  });

  test('anonymous browser page: 302 to the sign-in page on the app host, handed to the guest as is', async () => {
    const { answer, outcome } = await envoyAsks(browser('GET', '/reports'));
    assert.equal(answer.status, 302);
    assert.ok(outcome.kind === 'denied');
    assert.equal(outcome.status, 302);
    assert.equal(outcome.toClient.get('location'), `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/reports`)}`);
    assert.equal(outcome.toClient.get('cache-control'), 'no-store', 'the redirect is never cached by a browser or CDN');
    assert.deepEqual([...outcome.toClient.keys()].sort(), ['cache-control', 'content-length', 'location']);
  });

  test('anonymous script: 401 JSON with the sign-in URL, its content type kept', async () => {
    const { outcome } = await envoyAsks(script('GET', '/api/items'));
    assert.ok(outcome.kind === 'denied');
    assert.equal(outcome.status, 401);
    assert.equal(outcome.toClient.get('content-type'), 'application/json; charset=utf-8');
    const body = JSON.parse(outcome.body) as { error: string; login_url: string };
    assert.equal(body.error, 'unauthenticated');
    assert.equal(body.login_url, `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/api/items`)}`);
  });

  test('signed in and allowed: exactly 200, and the identity reaches the app', async () => {
    const client = browser('GET', '/reports', [['cookie', alice]]);
    const { answer, outcome } = await envoyAsks(client);
    assert.equal(answer.status, 200, 'Envoy takes only 200 as OK: a 202 or 204 would be a denial');
    assert.equal(answer.body.length, 0);
    const app = headersForApp(example, client, outcome);
    assert.equal(app.get('x-auth-request-email'), 'alice@partner.test');
    assert.equal(app.get('x-auth-request-user'), 'alice@partner.test');
    assert.equal(app.get('x-forwarded-email'), 'alice@partner.test');
    assert.equal(app.get('x-forwarded-user'), 'alice@partner.test');
    assert.equal(app.get('x-auth-request-groups'), 'partners');
    assert.match(app.get('x-gatehouse-assertion') ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(app.get('cache-control'), undefined, "the answer's own headers stay out of the app's request");
  });

  test('the assertion verifies against the jwks.json Envoy routes to the gateway, for the route origin', async () => {
    const jwksRoute = example.routes.find((route) => '/.gatehouse/jwks.json'.startsWith(route.prefix));
    assert.equal(jwksRoute?.cluster, 'gatehouse');
    const jwks = await request(world.gw.port, { path: '/.gatehouse/jwks.json', headers: { host: example.appHost } });
    assert.equal(jwks.status, 200);
    const { outcome } = await envoyAsks(browser('GET', '/x', [['cookie', bob]]));
    assert.ok(outcome.kind === 'allowed');
    const token = outcome.toApp.get('x-gatehouse-assertion');
    assert.ok(token);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks.json<JSONWebKeySet>()), { issuer: APP, audience: APP, algorithms: ['ES256'] });
    assert.equal(payload.sub, 'bob@example.com');
    assert.equal(payload.email, 'bob@example.com');
    await assert.rejects(jwtVerify(token, createLocalJWKSet(jwks.json<JSONWebKeySet>()), { audience: 'http://other.test' }), 'another route would not accept it');
  });

  test('every header the gateway answers a 200 with reaches the app, and a client can never send its own', async () => {
    for (const cookie of [bob, alice]) {
      const { answer } = await envoyAsks(browser('GET', '/', [['cookie', cookie]]));
      assert.equal(answer.status, 200);
      const identity = Object.keys(answer.headers).filter((name) => !TRANSPORT_HEADERS.has(name) && name !== 'cache-control' && name !== 'content-length' && name !== 'x-envoy-auth-headers-to-remove');
      assert.ok(identity.includes('x-gatehouse-assertion') && identity.includes('x-auth-request-email'), identity.join());
      for (const name of identity) {
        assert.ok(matchesAny(example.upstreamHeaders, name), `allowed_upstream_headers passes ${name}`);
        assert.ok(example.strippedFromClient.includes(name), `header_mutation removes a client's own ${name}`);
      }
    }
    // A public path: nobody is signed in. Envoy only overwrites the headers an answer has, so
    // a client's own copy must be removed by the example (header_mutation) and, for setups
    // that cannot add that filter (Gateway API), overwritten by the gateway's empty values.
    const spoofed: Array<[string, string]> = [['x-auth-request-email', 'admin@example.com'], ['x-gatehouse-assertion', 'forged.jwt.value']];
    const publicPage = browser('GET', '/open/readme', spoofed);
    const publicAnswer = await envoyAsks(publicPage);
    assert.equal(publicAnswer.answer.status, 200);
    for (const setup of [example, { ...example, strippedFromClient: [] }]) {
      const toApp = headersForApp(setup, publicPage, publicAnswer.outcome);
      for (const [name] of spoofed) assert.equal(toApp.has(name), false, `${name} is absent for the app, never the client's (${toApp.get(name)})`);
    }
    const signedIn = browser('GET', '/x', [...spoofed, ['cookie', bob]]);
    assert.equal(headersForApp(example, signedIn, (await envoyAsks(signedIn)).outcome).get('x-auth-request-email'), 'bob@example.com');
  });

  test('signed in as someone the app does not allow: 403, the page reaching the guest with all its headers', async () => {
    const { answer, outcome } = await envoyAsks(browser('GET', '/reports', [['cookie', carol]]));
    assert.equal(answer.status, 403);
    assert.ok(outcome.kind === 'denied');
    assert.match(outcome.body, /carol@elsewhere\.test/);
    for (const name of Object.keys(answer.headers).filter((header) => !TRANSPORT_HEADERS.has(header))) {
      assert.equal(outcome.toClient.get(name), answer.headers[name]!.join(','), `${name} reaches the guest (allowed_client_headers)`);
    }
    assert.equal(outcome.toClient.get('content-type'), 'text/html; charset=utf-8');
    assert.match(outcome.toClient.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(answer.headers['x-auth-request-email'], undefined, 'no identity with a refusal');

    const api = await envoyAsks(script('GET', '/api', [['cookie', carol]]));
    assert.equal(api.answer.status, 403);
    assert.equal((JSON.parse(api.answer.text()) as { error: string }).error, 'forbidden');
  });

  test('POST keeps its method: the body-less check decides about a POST, not a GET', async () => {
    const form: Array<[string, string]> = [['content-type', 'application/x-www-form-urlencoded'], ['content-length', '9']];
    const page = await envoyAsks(browser('GET', '/form'));
    assert.equal(page.answer.status, 302, 'a page to come back to after signing in');
    const post = await envoyAsks(browser('POST', '/form', form));
    assert.match(post.head, /^POST \/\.gatehouse\/auth\/ext\/form HTTP\/1\.1\r\n[\s\S]*\r\ncontent-length: 0\r\n/);
    assert.equal(post.answer.status, 401, 'a form POST is no page to come back to: 401, as in proxy mode');
    const signedIn = await envoyAsks(browser('POST', '/form', [...form, ['cookie', bob]]));
    assert.equal(signedIn.answer.status, 200);
    for (const method of ['PUT', 'DELETE', 'PATCH']) assert.equal((await envoyAsks(script(method, '/api/items/1', [['cookie', bob]]))).answer.status, 200, method);

    const before = world.logs.lines.length;
    await envoyAsks(script('DELETE', '/api/items/2', [['cookie', bob]]));
    const line = world.logs.records().slice(before).find((entry) => entry.event === 'request');
    assert.ok(line);
    assert.equal(line.method, 'DELETE');
    assert.equal(line.forward_auth, 'ext');
    assert.equal(line.host, example.appHost);
    assert.equal(line.path, '/api/items/2');
    assert.equal(line.req_id, REQUEST_ID, "Envoy's x-request-id names the request in the gateway's log");
  });

  test('the query string survives into the URL the guest comes back to', async () => {
    const query = '?q=a%20b&tag=x&tag=y&empty=';
    const { outcome } = await envoyAsks(browser('GET', `/search${query}`));
    assert.ok(outcome.kind === 'denied');
    assert.equal(outcome.toClient.get('location'), `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/search${query}`)}`);
    assert.equal((await envoyAsks(browser('GET', `/open/readme${query}`))).answer.status, 200, 'a query does not hide a public path');
  });

  test('paths are normalised exactly as in proxy mode, whatever Envoy’s normalize_path', async () => {
    // With normalize_path Envoy resolves these itself; without it they reach the gateway raw.
    const cases = [
      ['/open/readme', 200],
      ['/open/../reports', 401],
      ['/open/%2e%2e/reports', 401],
      ['/open/./readme', 200],
      ['//open//readme', 200],
      ['/open;x/../reports', 401],
      ['/open/..%2Freports', 400],
      ['/open/%252e%252e/reports', 400],
      ['/../../etc/passwd', 400],
    ] as const;
    for (const [path, status] of cases) {
      const asked = await envoyAsks(script('GET', path));
      assert.equal(asked.answer.status, status, path);
      const proxied = await request(world.gw.port, { path, headers: { host: example.appHost, accept: 'application/json' } });
      assert.equal(proxied.status, status, `${path}: proxy mode decides the same`);
    }
    const back = await envoyAsks(browser('GET', '/open/%2e%2e/reports?x=1'));
    assert.ok(back.outcome.kind === 'denied');
    assert.equal(back.outcome.toClient.get('location'), `${APP}/.gatehouse/login?rd=${encodeURIComponent(`${APP}/reports?x=1`)}`, 'the guest comes back to the canonical URL');
    // A prefix written with a trailing slash gives `//path`: folded, the same decision.
    assert.equal((await envoyAsks(script('GET', '/open/../reports'), `${example.pathPrefix}/`)).answer.status, 401);
    assert.equal((await envoyAsks(script('GET', '/.gatehouse/login'))).answer.status, 404, 'Envoy must route /.gatehouse/ to the gateway, never ask about it');
  });

  test('a WebSocket handshake gets the Origin check, with the headers the example lets through', async () => {
    const handshake = (origin: string) =>
      browser('GET', '/live', [['cookie', bob], ['origin', origin], ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['sec-websocket-version', '13'], ['upgrade', 'websocket'], ['connection', 'Upgrade']]);
    assert.equal((await envoyAsks(handshake(APP))).answer.status, 200);
    assert.equal((await envoyAsks(handshake('https://evil.test'))).answer.status, 403, 'cross-site WebSocket hijacking');
  });

  test('an untrusted peer asking the same gets 403, and Envoy hands the 403 on', async () => {
    const head = envoyCheckRequest(example, script('GET', '/reports', [['cookie', bob]]));
    const [requestLine, ...headerLines] = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of headerLines) headers[line.slice(0, line.indexOf(':'))] = line.slice(line.indexOf(':') + 2);
    const answer = await request(world.gw.port, { localAddress: '127.0.0.2', method: 'GET', path: requestLine!.split(' ')[1], headers });
    assert.equal(answer.status, 403);
    assert.equal(answer.json<{ error: string }>().error, 'forward_auth_untrusted');
    assert.equal(answer.headers['x-auth-request-email'], undefined);
    assert.equal(answer.headers['x-gatehouse-assertion'], undefined);
  });
});
