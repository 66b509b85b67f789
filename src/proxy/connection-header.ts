/**
 * The `Connection` header's list of hop-by-hop names (RFC 9110 section 7.6.1), for both
 * directions: every header it names is for this connection only and must not be passed on.
 */

// Names a peer may not remove through `Connection: <name>`: dropping them would break
// framing or the gateway's own Host.
const PROTECTED_NAMES = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * Adds the header names one `Connection` value lists (lower case, beyond the connection
 * options close, keep-alive and upgrade) to `into`; returns the set, or undefined when
 * nothing was listed so far.
 */
export function addConnectionListedNames(value: string, into: Set<string> | undefined): Set<string> | undefined {
  // The common values list no other header: skip the split (hot path).
  const lower = value.length <= 10 ? value.toLowerCase() : '';
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return into;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive' && name !== 'upgrade' && !PROTECTED_NAMES.has(name)) {
      (into ??= new Set()).add(name);
    }
  }
  return into;
}

/** Removes from a flat `[name, value, ...]` list, from index `start` on, every pair whose name is in `names`. */
export function removeNamedHeaders(headers: string[], names: ReadonlySet<string>, start = 0): void {
  let write = start;
  for (let read = start; read < headers.length; read += 2) {
    if (names.has(headers[read]!.toLowerCase())) continue;
    headers[write] = headers[read]!;
    headers[write + 1] = headers[read + 1]!;
    write += 2;
  }
  headers.length = write;
}
