/**
 * Hop-by-hop header handling (RFC 9110 section 7.6.1): these headers describe one
 * connection, so a proxy must not pass them on. Node re-frames bodies itself, so
 * `Transfer-Encoding` is left for http-proxy and Node to manage.
 */
import type { IncomingHttpHeaders } from 'node:http';

// Fixed hop-by-hop names; names listed in the Connection header are removed as well.
const HOP_BY_HOP_REQUEST_HEADERS = ['keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization'];
const HOP_BY_HOP_RESPONSE_HEADERS = ['keep-alive', 'proxy-connection', 'trailer', 'upgrade', 'proxy-authenticate'];

// Names a client may not smuggle out of the request through `Connection: <name>`: dropping
// them would break framing or the gateway's own headers.
const PROTECTED_FROM_CONNECTION_LIST = new Set(['host', 'content-length', 'transfer-encoding']);

function removeConnectionListedHeaders(headers: IncomingHttpHeaders | Record<string, unknown>): void {
  const connection = headers.connection;
  if (typeof connection !== 'string') return;
  // The common values list no other header: skip the split (hot path).
  const lower = connection.length <= 10 ? connection.toLowerCase() : '';
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive' && !PROTECTED_FROM_CONNECTION_LIST.has(name)) {
      delete headers[name];
    }
  }
}

/**
 * Removes hop-by-hop headers from a request about to be forwarded. For a WebSocket
 * upgrade, `Connection: upgrade` and `Upgrade` are kept: they are the handshake.
 * Returns true when the client asked to close its connection.
 */
export function stripHopByHopRequestHeaders(headers: IncomingHttpHeaders, isUpgrade: boolean): boolean {
  const connection = headers.connection;
  const clientWantsClose = typeof connection === 'string' && /(?:^|,)\s*close\s*(?:,|$)/i.test(connection);
  const upgrade = headers.upgrade;
  if (connection !== undefined) removeConnectionListedHeaders(headers);
  for (const name of HOP_BY_HOP_REQUEST_HEADERS) {
    if (isUpgrade && name === 'upgrade') continue;
    if (headers[name] !== undefined) delete headers[name];
  }
  if (isUpgrade) {
    headers.connection = 'upgrade';
    // Stops every WebSocket failing: `Connection: Upgrade` lists Upgrade, which the handshake needs.
    if (upgrade !== undefined) headers.upgrade = upgrade;
  }
  else if (connection !== undefined) delete headers.connection;
  return clientWantsClose;
}

/** Removes hop-by-hop headers from an upstream response before it is relayed. */
export function stripHopByHopResponseHeaders(headers: IncomingHttpHeaders): void {
  if (headers.connection !== undefined) {
    removeConnectionListedHeaders(headers);
    delete headers.connection;
  }
  for (const name of HOP_BY_HOP_RESPONSE_HEADERS) {
    if (headers[name] !== undefined) delete headers[name];
  }
}
