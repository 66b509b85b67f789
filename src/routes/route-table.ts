/**
 * The route table (SPEC.md section 2, "Route matching"): host (case-insensitive, port-aware),
 * then the longest path prefix on a segment boundary. Everything that can be prepared is
 * prepared once in {@link createRouteTable} (prefixes normalised, globs compiled, routes sorted)
 * so a lookup is two Map reads, a few `startsWith` calls and one RegExp test per public glob.
 *
 * The paths given to `match` must come from `normalizeRequestTarget`: routing and policy
 * (isPublic) use its `policyPath` (no `;` parameters), the upstream gets its `path`, so the
 * route a request lands on is the one the most lenient app would serve it from.
 */
import type { RouteConfig } from '../config/schema.js';
import { canonicalizeConfiguredPathText, normalizeRequestTarget } from '../paths/normalize-path.js';
import { compilePathGlobs } from '../paths/path-glob.js';

/** The route a request belongs to, and what to send upstream. */
export interface RouteMatch {
  /** Position of the route in the configuration's `routes` list. */
  readonly index: number;
  readonly route: RouteConfig;
  /** Whether one of the route's `public` globs matches the normalised path (before strip_prefix). */
  readonly isPublic: boolean;
  /**
   * path+query to send upstream: after strip_prefix, with the upstream basePath prepended
   * (for builtin: the path after strip_prefix).
   */
  readonly upstreamTarget: string;
}

/** Finds the route for a request. */
export interface RouteTable {
  /**
   * @param hostname from `parseHostHeader` (lower-case, no brackets, no trailing dot)
   * @param port from `parseHostHeader` (the scheme's default port when the header names none)
   * @param policyPath the `policyPath` from `normalizeRequestTarget`: what routing and `public` see
   * @param query `''` or a string starting with `?`, appended to the upstream target unchanged
   * @param forwardedPath the `path` from `normalizeRequestTarget` (with `;` parameters), sent upstream
   * @returns the route, or `undefined` when no route serves this host and path (answer 404:
   *   an unknown host is never sent to some default upstream)
   */
  match(hostname: string, port: number, policyPath: string, query: string, forwardedPath?: string): RouteMatch | undefined;
}

interface CompiledRoute {
  readonly index: number;
  readonly route: RouteConfig;
  /** Normalised like request paths, no trailing slash; `''` for the root. */
  readonly pathPrefix: string;
  readonly isPublicPath: (normalizedPath: string) => boolean;
  /** Prepended to the forwarded path: the http upstream's base path, `''` for none/builtin. */
  readonly upstreamBasePath: string;
  readonly stripPrefix: boolean;
  /** Segments of `pathPrefix`, for strip_prefix on a path with `;` parameters. */
  readonly prefixSegments: number;
}

/**
 * Builds the route table from validated routes.
 *
 * @throws TypeError when a `from` path prefix or a `public` glob cannot be normalised, or when
 *   two routes share host, port and (normalised) path prefix: either would make the route a
 *   request lands on depend on spelling or order.
 */
export function createRouteTable(routes: readonly RouteConfig[]): RouteTable {
  const routesByHostname = new Map<string, Map<number, CompiledRoute[]>>();

  routes.forEach((route, index) => {
    const compiled = compileRoute(route, index);
    // parseHostHeader drops one trailing dot, so `from: http://example.com./` must too.
    const hostname = route.from.hostname.endsWith('.') ? route.from.hostname.slice(0, -1) : route.from.hostname;
    let routesByPort = routesByHostname.get(hostname);
    if (!routesByPort) routesByHostname.set(hostname, (routesByPort = new Map()));
    let hostRoutes = routesByPort.get(route.from.port);
    if (!hostRoutes) routesByPort.set(route.from.port, (hostRoutes = []));
    const clash = hostRoutes.find((other) => other.pathPrefix === compiled.pathPrefix);
    if (clash) {
      throw new TypeError(
        `routes[${index}] (${route.name}) has the same host and path prefix as routes[${clash.index}] (${clash.route.name})`,
      );
    }
    hostRoutes.push(compiled);
  });
  // Longest prefix first, so the first segment-boundary match is the most specific route.
  for (const routesByPort of routesByHostname.values()) {
    for (const hostRoutes of routesByPort.values()) {
      hostRoutes.sort((a, b) => b.pathPrefix.length - a.pathPrefix.length);
    }
  }

  return {
    match(hostname, port, policyPath, query, forwardedPath = policyPath) {
      let routesByPort = routesByHostname.get(hostname);
      // Host names are case-insensitive; callers normally pass them lower-cased already.
      if (!routesByPort) routesByPort = routesByHostname.get(hostname.toLowerCase());
      const hostRoutes = routesByPort?.get(port);
      if (!hostRoutes) return undefined;
      for (const candidate of hostRoutes) {
        if (isPathUnderPrefix(policyPath, candidate.pathPrefix)) return matchRoute(candidate, policyPath, query, forwardedPath);
      }
      return undefined;
    },
  };
}

function compileRoute(route: RouteConfig, index: number): CompiledRoute {
  // The prefix comes from a WHATWG-parsed URL, which leaves `%7E` encoded and hex in any case;
  // normalised like request paths it compares byte for byte.
  const pathPrefix = canonicalizeConfiguredPathText(route.from.pathPrefix);
  if (pathPrefix === undefined) {
    throw new TypeError(`routes[${index}] (${route.name}).from has a path that cannot be normalised`);
  }
  if (pathPrefix !== '') {
    const normalized = normalizeRequestTarget(pathPrefix);
    if (!normalized.ok || normalized.path !== pathPrefix) {
      throw new TypeError(`routes[${index}] (${route.name}).from path "${route.from.pathPrefix}" is not a normalised path`);
    }
  }
  return {
    index,
    route,
    pathPrefix,
    isPublicPath: compilePublicPathMatcher(route, index),
    upstreamBasePath: route.to?.kind === 'http' ? route.to.basePath : '',
    stripPrefix: route.strip_prefix && pathPrefix !== '',
    prefixSegments: pathPrefix === '' ? 0 : pathPrefix.split('/').length - 1,
  };
}

/** All of a route's public globs as one RegExp, so a request costs a single test. */
function compilePublicPathMatcher(route: RouteConfig, index: number): (normalizedPath: string) => boolean {
  try {
    return compilePathGlobs(route.public);
  } catch (error) {
    throw new TypeError(`routes[${index}] (${route.name}).public: ${(error as Error).message}`, { cause: error });
  }
}

/** `/app` covers `/app`, `/app/` and `/app/x` but not `/apple` (a sibling, maybe another app). */
function isPathUnderPrefix(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f;
}

function matchRoute(compiled: CompiledRoute, policyPath: string, query: string, forwardedPath: string): RouteMatch {
  // isPublic is decided on the full policy path, the one we route on (before strip_prefix).
  const isPublic = compiled.isPublicPath(policyPath);
  let sent = forwardedPath;
  if (compiled.stripPrefix) {
    sent =
      forwardedPath === policyPath
        ? policyPath.length === compiled.pathPrefix.length ? '/' : policyPath.slice(compiled.pathPrefix.length)
        : // With `;` parameters the prefix is its segments, whatever parameters they carry.
          withoutLeadingSegments(forwardedPath, compiled.prefixSegments);
  }
  // `sent` always starts with `/` and basePath never ends with one: no `//` to join.
  const upstreamTarget = compiled.upstreamBasePath + sent + query;
  return { index: compiled.index, route: compiled.route, isPublic, upstreamTarget };
}

/** `path` without its first `count` non-empty segments (`/app;x/v1/page`, 2 → `/page`); `/` when none are left. */
function withoutLeadingSegments(path: string, count: number): string {
  let at = 0;
  for (let dropped = 0; dropped < count; ) {
    const next = path.indexOf('/', at + 1);
    const segment = next === -1 ? path.slice(at + 1) : path.slice(at + 1, next);
    // A segment that is only parameters (`/;x`) was not a segment of the policy path.
    if (!segment.startsWith(';') && !segment.startsWith('%3B')) dropped += 1;
    if (next === -1) return '/';
    at = next;
  }
  return path.slice(at);
}
