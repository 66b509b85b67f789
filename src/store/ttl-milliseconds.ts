/**
 * The one TTL rule both backends share, so they refuse the same inputs: every write must
 * expire (the contract stores nothing forever), and Redis only takes whole milliseconds.
 */

/**
 * `ttlMs` as a whole number of milliseconds, at least 1.
 * Throws a RangeError for zero, negative or non-finite values: a caller that computes a TTL
 * of 0 has a bug, and storing such a value "forever" or "not at all" would hide it.
 */
export function toTtlMilliseconds(ttlMs: number, what = 'ttlMs'): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`${what} must be a positive number of milliseconds (got ${String(ttlMs)})`);
  }
  // Rounded up: a sub-millisecond TTL still has to expire, not be refused by Redis as 0.
  return Math.ceil(ttlMs);
}
