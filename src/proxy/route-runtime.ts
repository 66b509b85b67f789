/**
 * Everything a proxied request needs from its route, computed once per config load so the
 * hot path only reads fields: the upstream target, transport and agent, the http-proxy
 * options for WebSocket upgrades, the response rewrite rule, the spoofable header set and
 * compiled header templates.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { RouteConfig } from '../config/schema.js';
import type { UpstreamAgentPool, HttpUpstream } from './upstream-agents.js';
import type { ResponseRewriteRule } from './response-rewrite.js';
import { buildSpoofableHeaderSet } from './spoofable-headers.js';
import { compileHeaderTemplates, type HeaderTemplate } from './identity-headers.js';

export interface BuiltinUpstreamPorts {
  readonly whoami: number;
}

/** The http-proxy options we pass per WebSocket upgrade (a subset of its ServerOptions). */
export interface ProxyTargetOptions {
  readonly target: {
    readonly protocol: string;
    readonly host: string;
    readonly hostname: string;
    readonly port: number;
    /** The route's `tls.ca` (PEM): http-proxy passes it to the TLS connection it opens itself. */
    readonly ca?: string;
  };
  readonly agent: http.Agent | false;
  readonly secure: boolean;
  readonly ws: boolean;
  readonly xfwd: false;
  readonly changeOrigin: false;
  readonly prependPath: false;
}

export interface RouteRuntime {
  readonly config: RouteConfig;
  readonly name: string;
  readonly upstream: HttpUpstream;
  /** Host header to send when preserve_host is false. */
  readonly upstreamHostHeader: string;
  /** `http` or `https`, by the upstream's protocol. */
  readonly transport: { request: typeof http.request };
  /** The upstream's keep-alive agent (TLS settings included). */
  readonly agent: http.Agent;
  readonly websocketProxyOptions: ProxyTargetOptions;
  readonly rewriteRule: ResponseRewriteRule;
  readonly spoofableHeaders: ReadonlySet<string>;
  readonly headerTemplates: readonly HeaderTemplate[];
}

function resolveUpstream(route: RouteConfig, builtins: BuiltinUpstreamPorts): HttpUpstream {
  if (route.to.kind === 'http') return route.to;
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

/** Builds the runtime view of one route. */
export function buildRouteRuntime(route: RouteConfig, agents: UpstreamAgentPool, builtins: BuiltinUpstreamPorts): RouteRuntime {
  const upstream = resolveUpstream(route, builtins);
  const tls = { ca: route.tls.ca, insecureSkipVerify: route.tls.insecure_skip_verify };
  const agent = agents.agentFor(upstream, tls);
  const target = {
    protocol: upstream.protocol,
    host: upstream.hostname,
    hostname: upstream.hostname,
    port: upstream.port,
    // A WebSocket gets a connection of its own, not the agent's: it needs the CA as well.
    ca: tls.ca ? readFileSync(tls.ca, 'utf8') : undefined,
  };
  // A WebSocket takes its connection over for good: it gets its own, not a pooled one.
  const websocketProxyOptions: ProxyTargetOptions = {
    target,
    agent: false,
    secure: !tls.insecureSkipVerify,
    ws: true,
    xfwd: false,
    changeOrigin: false,
    prependPath: false,
  };
  return {
    config: route,
    name: route.name,
    upstream,
    upstreamHostHeader: formatHostHeader(upstream.hostname, upstream.port, upstream.protocol),
    transport: upstream.protocol === 'https:' ? https : http,
    agent,
    websocketProxyOptions,
    rewriteRule: {
      upstreamOrigin: upstream.origin.toLowerCase(),
      upstreamHostname: upstream.hostname,
      upstreamBasePath: upstream.basePath,
      externalOrigin: route.from.origin,
      externalHostname: route.from.hostname,
      externalPrefix: route.strip_prefix ? route.from.pathPrefix : '',
    },
    spoofableHeaders: buildSpoofableHeaderSet(Object.keys(route.headers)),
    headerTemplates: compileHeaderTemplates(route.headers),
  };
}
