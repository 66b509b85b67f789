/**
 * Everything a proxied request needs from its route, computed once per config load so the
 * hot path only reads fields: the upstream target, transport and agent, the TLS settings of
 * WebSocket connections, the response rewrite rule, the spoofable header set and compiled
 * header templates.
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
  /** TLS settings of a WebSocket's own connection (it does not use the pooled agent). */
  readonly websocketTls: { readonly ca?: string; readonly rejectUnauthorized: boolean };
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
  const websocketTls = { ca: tls.ca ? readFileSync(tls.ca, 'utf8') : undefined, rejectUnauthorized: !tls.insecureSkipVerify };
  return {
    config: route,
    name: route.name,
    upstream,
    upstreamHostHeader: formatHostHeader(upstream.hostname, upstream.port, upstream.protocol),
    transport: upstream.protocol === 'https:' ? https : http,
    agent,
    websocketTls,
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
