/**
 * Everything a request needs from its route, computed once per config load so the hot path
 * only reads fields: the connection to the app (upstream target, its connection pool, the
 * transport and TLS settings of WebSocket connections, the response rewrite rule; none for a route only reached
 * through forward-auth), the spoofable header set and compiled header templates.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { RouteConfig } from '../config/schema.js';
import type { Pool } from 'undici';
import type { UpstreamPools, HttpUpstream } from './upstream-pools.js';
import type { ResponseRewriteRule } from './response-rewrite.js';
import { buildSpoofableHeaderSet } from './spoofable-headers.js';
import { compileHeaderTemplates, type HeaderTemplate } from './identity-headers.js';

export interface BuiltinUpstreamPorts {
  readonly whoami: number;
}

export interface RouteRuntime {
  readonly config: RouteConfig;
  readonly name: string;
  /** How requests reach the app; undefined for a route without `to` (forward-auth only). */
  readonly app: AppConnection | undefined;
  readonly spoofableHeaders: ReadonlySet<string>;
  readonly headerTemplates: readonly HeaderTemplate[];
}

export interface AppConnection {
  readonly upstream: HttpUpstream;
  /** `timeout`: no upstream response (or no progress) within this many ms gives 504. */
  readonly timeoutMs: number;
  /** Host header to send when preserve_host is false. */
  readonly upstreamHostHeader: string;
  /** The upstream's pool of keep-alive connections (TLS settings included). */
  readonly pool: Pool;
  /** `http` or `https`, by the upstream's protocol: how a WebSocket upgrade goes out. */
  readonly transport: { request: typeof http.request };
  /** TLS settings of a WebSocket's own connection (it does not use the pool). */
  readonly websocketTls: { readonly ca?: string; readonly rejectUnauthorized: boolean };
  readonly rewriteRule: ResponseRewriteRule;
}

function resolveUpstream(to: NonNullable<RouteConfig['to']>, builtins: BuiltinUpstreamPorts): HttpUpstream {
  if (to.kind === 'http') return to;
  return {
    kind: 'http',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: builtins.whoami,
    basePath: '',
    origin: `http://127.0.0.1:${builtins.whoami}`,
  };
}

function formatHostHeader(hostname: string, port: number, protocol: string): string {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  const defaultPort = protocol === 'https:' ? 443 : 80;
  return port === defaultPort ? host : `${host}:${port}`;
}

/**
 * Builds the runtime view of one route. `extraSpoofableHeaders` are further names the gateway
 * sets itself on every route (the assertion header), so no client copy of them passes.
 */
export function buildRouteRuntime(route: RouteConfig, pools: UpstreamPools, builtins: BuiltinUpstreamPorts, extraSpoofableHeaders: readonly string[] = []): RouteRuntime {
  return {
    config: route,
    name: route.name,
    app: route.to === undefined ? undefined : buildAppConnection(route, route.to, pools, builtins),
    spoofableHeaders: buildSpoofableHeaderSet([...Object.keys(route.headers), ...extraSpoofableHeaders]),
    headerTemplates: compileHeaderTemplates(route.headers),
  };
}

function buildAppConnection(route: RouteConfig, to: NonNullable<RouteConfig['to']>, pools: UpstreamPools, builtins: BuiltinUpstreamPorts): AppConnection {
  const upstream = resolveUpstream(to, builtins);
  const tls = { ca: route.tls.ca, insecureSkipVerify: route.tls.insecure_skip_verify };
  const websocketTls = { ca: tls.ca ? readFileSync(tls.ca, 'utf8') : undefined, rejectUnauthorized: !tls.insecureSkipVerify };
  return {
    upstream,
    timeoutMs: route.timeout,
    upstreamHostHeader: formatHostHeader(upstream.hostname, upstream.port, upstream.protocol),
    pool: pools.poolFor(upstream, tls, route.timeout),
    transport: upstream.protocol === 'https:' ? https : http,
    websocketTls,
    rewriteRule: {
      upstreamOrigin: upstream.origin.toLowerCase(),
      upstreamHostname: upstream.hostname,
      upstreamBasePath: upstream.basePath,
      externalOrigin: route.from.origin,
      externalHostname: route.from.hostname,
      externalPrefix: route.strip_prefix ? route.from.pathPrefix : '',
    },
  };
}
