import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayConfigSchema, type GatewayConfigInput, type RouteConfig } from '../../src/config/schema.js';
import { createRouteTable, type RouteTable } from '../../src/routes/route-table.js';

type RouteInput = GatewayConfigInput['routes'][number];

/** Routes as the config loader produces them, from the YAML-level shape. */
function parseRoutes(routes: readonly Omit<RouteInput, 'allow'>[]): RouteConfig[] {
  return gatewayConfigSchema.parse({ routes: routes.map((route) => ({ allow: ['*@example.com'], ...route })) }).routes;
}

function routeNameFor(table: RouteTable, hostname: string, port: number, path: string): string | undefined {
  return table.match(hostname, port, path, '')?.route.name;
}

describe('createRouteTable: host and path matching', () => {
  const table = createRouteTable(
    parseRoutes([
      { name: 'root', from: 'http://apps.example.com/', to: 'builtin:whoami' },
      { name: 'app', from: 'http://apps.example.com/app', to: 'builtin:whoami' },
      { name: 'app-admin', from: 'http://apps.example.com/app/admin/', to: 'builtin:whoami' },
      { name: 'tls', from: 'https://Secure.Example.com/', to: 'builtin:whoami' },
      { name: 'alt-port', from: 'http://apps.example.com:8080/', to: 'builtin:whoami' },
      { name: 'only-prefix', from: 'http://docs.example.com/docs', to: 'builtin:whoami' },
      { name: 'ipv6', from: 'http://[::1]:8080/', to: 'builtin:whoami' },
      { name: 'tilde', from: 'http://apps.example.com/%7ebob', to: 'builtin:whoami' },
      { name: 'dotted', from: 'http://dotted.example./', to: 'builtin:whoami' },
    ]),
  );

  const cases: readonly { name: string; hostname: string; port: number; path: string; route: string | undefined }[] = [
    { name: 'the root route takes any path of its host', hostname: 'apps.example.com', port: 80, path: '/anything', route: 'root' },
    { name: 'a prefix matches itself', hostname: 'apps.example.com', port: 80, path: '/app', route: 'app' },
    { name: 'a prefix matches itself with a trailing slash', hostname: 'apps.example.com', port: 80, path: '/app/', route: 'app' },
    { name: 'a prefix matches paths below it', hostname: 'apps.example.com', port: 80, path: '/app/x/y', route: 'app' },
    { name: 'a prefix does not match a longer sibling name', hostname: 'apps.example.com', port: 80, path: '/apple', route: 'root' },
    { name: 'prefixes are case-sensitive', hostname: 'apps.example.com', port: 80, path: '/APP/x', route: 'root' },
    { name: 'the longest matching prefix wins', hostname: 'apps.example.com', port: 80, path: '/app/admin/users', route: 'app-admin' },
    { name: 'the longest prefix matches on a segment boundary only', hostname: 'apps.example.com', port: 80, path: '/app/administrator', route: 'app' },
    { name: 'host names match case-insensitively', hostname: 'SECURE.example.COM', port: 443, path: '/', route: 'tls' },
    { name: 'an https route listens on 443 by default', hostname: 'secure.example.com', port: 443, path: '/x', route: 'tls' },
    { name: 'an https route does not answer on port 80', hostname: 'secure.example.com', port: 80, path: '/x', route: undefined },
    { name: 'a route with an explicit port answers on that port', hostname: 'apps.example.com', port: 8080, path: '/app', route: 'alt-port' },
    { name: 'an unknown port of a known host has no route', hostname: 'apps.example.com', port: 9999, path: '/', route: undefined },
    { name: 'an unknown host has no route', hostname: 'evil.example.com', port: 80, path: '/', route: undefined },
    { name: 'a subdomain of a known host has no route', hostname: 'x.apps.example.com', port: 80, path: '/', route: undefined },
    { name: 'a path outside every prefix of its host has no route', hostname: 'docs.example.com', port: 80, path: '/other', route: undefined },
    { name: 'the root of a host with only a prefix route has no route', hostname: 'docs.example.com', port: 80, path: '/', route: undefined },
    { name: 'an IPv6 host matches without brackets', hostname: '::1', port: 8080, path: '/', route: 'ipv6' },
    { name: 'a configured host with a trailing dot matches the host without it', hostname: 'dotted.example', port: 80, path: '/', route: 'dotted' },
    { name: 'a configured prefix is compared in normalised form', hostname: 'apps.example.com', port: 80, path: '/~bob/x', route: 'tilde' },
  ];
  for (const { name, hostname, port, path, route } of cases) {
    test(`${name}: ${hostname}:${port}${path} → ${route ?? 'no route'}`, () => {
      assert.equal(routeNameFor(table, hostname, port, path), route);
    });
  }

  test('the index is the position of the route in the configuration', () => {
    assert.equal(table.match('apps.example.com', 80, '/app/admin', '')?.index, 2);
  });
});

describe('createRouteTable: the upstream target', () => {
  const table = createRouteTable(
    parseRoutes([
      { name: 'plain', from: 'http://a.example/', to: 'http://10.0.0.1:3000' },
      { name: 'base', from: 'http://b.example/', to: 'http://10.0.0.1:3000/base/' },
      { name: 'strip', from: 'http://c.example/app', to: 'http://10.0.0.1:3000', strip_prefix: true },
      { name: 'strip-base', from: 'http://d.example/app/', to: 'http://10.0.0.1:3000/base', strip_prefix: true },
      { name: 'keep', from: 'http://e.example/app', to: 'http://10.0.0.1:3000/base' },
      { name: 'builtin-strip', from: 'http://f.example/who', to: 'builtin:whoami', strip_prefix: true },
      { name: 'builtin', from: 'http://g.example/who', to: 'builtin:whoami' },
      { name: 'root-strip', from: 'http://h.example/', to: 'http://10.0.0.1:3000/base', strip_prefix: true },
    ]),
  );

  const cases: readonly { name: string; host: string; path: string; query: string; upstreamTarget: string }[] = [
    { name: 'the path is forwarded as is', host: 'a.example', path: '/x/y', query: '', upstreamTarget: '/x/y' },
    { name: 'the query is appended unchanged', host: 'a.example', path: '/x', query: '?a=1&b=%2F', upstreamTarget: '/x?a=1&b=%2F' },
    { name: 'the base path is prepended', host: 'b.example', path: '/x', query: '?q', upstreamTarget: '/base/x?q' },
    { name: 'the base path and the root join without a double slash', host: 'b.example', path: '/', query: '', upstreamTarget: '/base/' },
    { name: 'strip_prefix removes the prefix', host: 'c.example', path: '/app/x/y', query: '?q', upstreamTarget: '/x/y?q' },
    { name: 'strip_prefix keeps a trailing slash', host: 'c.example', path: '/app/', query: '', upstreamTarget: '/' },
    { name: 'strip_prefix of the bare prefix leaves the root', host: 'c.example', path: '/app', query: '?q', upstreamTarget: '/?q' },
    { name: 'strip_prefix and a base path combine', host: 'd.example', path: '/app/x', query: '', upstreamTarget: '/base/x' },
    { name: 'strip_prefix of the bare prefix and a base path', host: 'd.example', path: '/app', query: '', upstreamTarget: '/base/' },
    { name: 'without strip_prefix the prefix is kept under the base path', host: 'e.example', path: '/app/x', query: '', upstreamTarget: '/base/app/x' },
    { name: 'a builtin upstream gets the path after strip_prefix', host: 'f.example', path: '/who/am/i', query: '?x', upstreamTarget: '/am/i?x' },
    { name: 'a builtin upstream without strip_prefix gets the whole path', host: 'g.example', path: '/who/am/i', query: '', upstreamTarget: '/who/am/i' },
    { name: 'strip_prefix on a root route changes nothing', host: 'h.example', path: '/x', query: '', upstreamTarget: '/base/x' },
  ];
  for (const { name, host, path, query, upstreamTarget } of cases) {
    test(`${name}: ${host}${path}${query} → ${upstreamTarget}`, () => {
      assert.equal(table.match(host, 80, path, query)?.upstreamTarget, upstreamTarget);
    });
  }
});

describe('createRouteTable: public paths', () => {
  const table = createRouteTable(
    parseRoutes([
      { name: 'app', from: 'http://a.example/app', to: 'http://10.0.0.1:3000', strip_prefix: true, public: ['/app/assets/**', '/app/healthz', '/assets/**'] },
      { name: 'closed', from: 'http://b.example/', to: 'builtin:whoami' },
    ]),
  );

  const cases: readonly { name: string; host: string; path: string; isPublic: boolean }[] = [
    { name: 'a public glob matches the path as the client sent it', host: 'a.example', path: '/app/assets/x.css', isPublic: true },
    { name: 'a second public glob matches too', host: 'a.example', path: '/app/healthz', isPublic: true },
    { name: 'public globs match before strip_prefix, not after', host: 'a.example', path: '/app/x', isPublic: false },
    { name: 'a glob written for the stripped path does not match', host: 'a.example', path: '/app/assets2', isPublic: false },
    { name: 'a route without public globs has no public path', host: 'b.example', path: '/assets/x', isPublic: false },
  ];
  for (const { name, host, path, isPublic } of cases) {
    test(`${name}: ${host}${path} → ${isPublic ? 'public' : 'protected'}`, () => {
      assert.equal(table.match(host, 80, path, '')?.isPublic, isPublic);
    });
  }
});

describe('createRouteTable: configuration mistakes', () => {
  // The config schema refuses these before a table is ever built, naming the YAML path.
  function configIssues(routes: readonly Omit<RouteInput, 'allow'>[]): string[] {
    const result = gatewayConfigSchema.safeParse({ routes: routes.map((route) => ({ allow: ['*@example.com'], ...route })) });
    return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  }

  test('two routes whose prefixes are the same once normalised are refused', () => {
    const issues = configIssues([
      { name: 'one', from: 'http://a.example/~bob', to: 'builtin:whoami' },
      { name: 'two', from: 'http://a.example/%7Ebob', to: 'builtin:whoami' },
    ]);
    assert.deepEqual(issues, ['routes.1.from: has the same host and path as routes[0].from']);
  });

  test('a public glob that can never match is refused with its path', () => {
    const issues = configIssues([{ name: 'one', from: 'http://a.example/', to: 'builtin:whoami', public: ['/a/../b'] }]);
    assert.equal(issues.length, 1);
    assert.match(issues[0]!, /^routes\.0\.public\.0: public path glob "\/a\/\.\.\/b"/);
  });

  test('an empty route list gives a table that matches nothing', () => {
    assert.equal(createRouteTable([]).match('a.example', 80, '/', ''), undefined);
  });
});
