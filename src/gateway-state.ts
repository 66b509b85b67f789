/**
 * The immutable view of one loaded config that request handling reads. A reload builds a
 * new state and swaps it in one assignment: requests in flight keep the state they started
 * with, new requests see the new one.
 */
import type { GatewayConfig } from './config/schema.js';
import { createRouteTable, type RouteTable } from './routes/route-table.js';
import { buildRouteRuntime, type BuiltinUpstreamPorts, type RouteRuntime } from './proxy/route-runtime.js';
import type { UpstreamPools } from './proxy/upstream-pools.js';
import { createProxyTrust, type ProxyTrust } from './proxy/forwarded-headers.js';
import { computeGatewayPageHeaders, gatewayPageHelmetOptions, type HeaderList } from './http/security-headers.js';
import { gatewayCookieNames, type GatewayCookieNames } from './session/session-cookies.js';

export interface GatewayState {
  readonly config: GatewayConfig;
  readonly routeTable: RouteTable;
  /** Runtime of each route, by index in config.routes. */
  readonly routes: readonly RouteRuntime[];
  /** `hostname:port` of every configured route, for the /.gatehouse/ pages. */
  readonly knownHosts: ReadonlySet<string>;
  /** Origins of all routes: where `rd` may point and which form Origins are ours. */
  readonly routeOrigins: ReadonlySet<string>;
  readonly proxyTrust: ProxyTrust;
  readonly pageHeaders: HeaderList;
  readonly cookieNames: GatewayCookieNames;
}

/** Builds the state for a validated config. */
export function buildGatewayState(
  config: GatewayConfig,
  pools: UpstreamPools,
  builtins: BuiltinUpstreamPorts,
): GatewayState {
  const assertionHeaders = config.assertion.enabled ? [config.assertion.header] : [];
  const routes = config.routes.map((route) => buildRouteRuntime(route, pools, builtins, assertionHeaders));
  pools.retainOnly(new Set(routes.flatMap((route) => (route.app ? [route.app.pool] : []))));
  const cookieNames = gatewayCookieNames(config.session.cookie);
  const routeOrigins = new Set(config.routes.map((route) => route.from.origin));
  return {
    config,
    routeTable: createRouteTable(config.routes),
    routes,
    knownHosts: new Set(config.routes.map((route) => `${route.from.hostname}:${route.from.port}`)),
    routeOrigins,
    proxyTrust: createProxyTrust(config.trust_proxy),
    pageHeaders: computeGatewayPageHeaders(gatewayPageHelmetOptions(routeOrigins)),
    cookieNames,
  };
}
