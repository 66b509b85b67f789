/**
 * Step 6 of the pipeline, shared by plain requests and WebSocket upgrades so both send the
 * app exactly the same thing: hop-by-hop headers out, every client-sent identity header out,
 * the gateway's cookies out, then forwarding, identity and request-id headers in, the Host
 * the route asks for, and the normalised upstream path.
 */
import type http from 'node:http';
import type { RouteRuntime } from './route-runtime.js';
import { stripHopByHopRequestHeaders } from './hop-by-hop.js';
import { stripSpoofableHeaders } from './spoofable-headers.js';
import { peerAddress, setForwardedHeaders } from './forwarded-headers.js';
import { setIdentityHeaders, type Identity } from './identity-headers.js';
import { removeCookies } from '../http/cookies.js';

export interface UpstreamRequestFacts {
  readonly route: RouteRuntime;
  /** Path and query to send upstream (normalised, after strip_prefix and base path). */
  readonly upstreamTarget: string;
  readonly identity: Identity | undefined;
  readonly requestId: string;
  readonly protocol: 'http' | 'https';
  readonly hostHeader: string | undefined;
  readonly trustedPeer: boolean;
  /** Names of the gateway's own cookies. */
  readonly gatewayCookies: ReadonlySet<string>;
  readonly isUpgrade: boolean;
}

/** Rewrites `req` for the upstream. Returns true when the client asked to close its connection. */
export function prepareUpstreamRequest(req: http.IncomingMessage, facts: UpstreamRequestFacts): boolean {
  const headers = req.headers;
  const { route } = facts;
  const clientWantsClose = stripHopByHopRequestHeaders(headers, facts.isUpgrade);
  stripSpoofableHeaders(headers, route.spoofableHeaders);
  const cookie = headers.cookie;
  if (cookie !== undefined) {
    // The app must never see (or log, or leak) the gateway's session cookie.
    const kept = removeCookies(cookie, facts.gatewayCookies);
    if (kept === undefined) delete headers.cookie;
    else headers.cookie = kept;
  }
  setForwardedHeaders(headers, { address: peerAddress(req), protocol: facts.protocol, host: facts.hostHeader, trusted: facts.trustedPeer });
  setIdentityHeaders(headers, facts.identity, route.name, route.headerTemplates);
  headers['x-request-id'] = facts.requestId;
  if (!route.config.preserve_host) headers.host = route.upstreamHostHeader;
  req.url = facts.upstreamTarget;
  return clientWantsClose;
}
