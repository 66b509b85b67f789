/**
 * The route a sign-in's `rd` leads to, so the pages can name the app and ask whether the
 * guest is already signed in for it. `rd` is already validated (safeRedirectTarget): an
 * absolute URL on a route origin, or a path on the host the guest is on. It is matched the
 * way the proxy matches requests: host and port, then the normalised path.
 */
import type { RouteRuntime } from '../../proxy/route-runtime.js';
import type { RouteTable } from '../../routes/route-table.js';
import { parseHostHeader } from '../../routes/host-header.js';
import { normalizeRequestTarget } from '../../paths/normalize-path.js';

export function routeForReturnTo(
  returnTo: string,
  externalOrigin: string,
  routing: { readonly routeTable: RouteTable; readonly routes: readonly RouteRuntime[] },
): RouteRuntime | undefined {
  let url: URL;
  try {
    url = new URL(returnTo, `${externalOrigin}/`);
  } catch {
    return undefined;
  }
  const host = parseHostHeader(url.host, url.protocol === 'https:' ? 443 : 80);
  const target = normalizeRequestTarget(url.pathname + url.search);
  if (!host || !target.ok) return undefined;
  const match = routing.routeTable.match(host.hostname, host.port, target.policyPath, target.query);
  return match ? routing.routes[match.index] : undefined;
}
