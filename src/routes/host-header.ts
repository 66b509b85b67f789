/**
 * Host header parsing for routing (SPEC.md section 2: host matching is case-insensitive and
 * port-aware). Strict on purpose: whatever we cannot parse unambiguously is refused rather than
 * guessed, because the host picks the route, and so the policy, the upstream and the cookie.
 */
import { isIPv6 } from 'node:net';

const COLON = 0x3a;
const DOT = 0x2e;
const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** Letters, digits, `-` and `_` (seen in internal names); `.` separates labels. */
const HOSTNAME_LABEL_CHAR = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
  HOSTNAME_LABEL_CHAR[char.charCodeAt(0)] = 1;
}

/**
 * Parses a `Host` header value (`host[:port]`, IPv6 as `[::1]:8080`).
 *
 * @param defaultPort the port of the connection's scheme (80 or 443), used when the header
 *   names none.
 * @returns the lower-case hostname (IPv6 without brackets, one trailing dot removed) and the
 *   port, or `undefined` when the value is missing or not a plain host and port.
 */
export function parseHostHeader(
  value: string | undefined,
  defaultPort: number,
): { hostname: string; port: number } | undefined {
  if (value === undefined || value === '') return undefined;

  let hostname: string;
  let portText: string | undefined;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close === -1) return undefined;
    hostname = value.slice(1, close);
    // isIPv6 accepts zone ids (`fe80::1%eth0`): host-local names that no route can mean, and a
    // `%` a downstream URL parser might decode. Refused.
    if (hostname.includes('%') || !isIPv6(hostname)) return undefined;
    // Config hostnames are canonical (WHATWG URL); `[0:0::1]` must find the route for `[::1]`.
    hostname = new URL(`http://[${hostname}]/`).hostname.slice(1, -1);
    if (close + 1 < value.length) {
      if (value.charCodeAt(close + 1) !== COLON) return undefined;
      portText = value.slice(close + 2);
    }
  } else {
    const colon = value.indexOf(':');
    hostname = colon === -1 ? value : value.slice(0, colon);
    if (colon !== -1) portText = value.slice(colon + 1);
    // Strip one trailing dot: `example.com.` is the same fully-qualified name as `example.com`.
    if (hostname.charCodeAt(hostname.length - 1) === DOT) hostname = hostname.slice(0, -1);
    // `@` (userinfo), `/`, `\`, `%`, spaces, a second `:` and the like would each let a value
    // mean one host to us and another to a URL parser downstream.
    if (!isPlainHostname(hostname)) return undefined;
  }

  let port = defaultPort;
  if (portText !== undefined) {
    // An empty, signed, non-decimal or out-of-range port is a malformed header, not "default".
    port = parseDecimalPort(portText);
    if (port === 0) return undefined;
  }
  return { hostname: hostname.toLowerCase(), port };
}

/** Dot-separated labels of letters, digits, `-` and `_`; no empty label. */
function isPlainHostname(hostname: string): boolean {
  if (hostname.length === 0 || hostname.length > MAX_HOSTNAME_LENGTH) return false;
  let labelLength = 0;
  for (let i = 0; i < hostname.length; i++) {
    const code = hostname.charCodeAt(i);
    if (code === DOT) {
      if (labelLength === 0) return false;
      labelLength = 0;
    } else if (code < 128 && HOSTNAME_LABEL_CHAR[code] === 1) {
      if (++labelLength > MAX_LABEL_LENGTH) return false;
    } else {
      return false;
    }
  }
  return labelLength > 0;
}

/** 1..65535 from 1 to 5 decimal digits, else 0. */
function parseDecimalPort(text: string): number {
  if (text.length === 0 || text.length > 5) return 0;
  let port = 0;
  for (let i = 0; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return 0;
    port = port * 10 + digit;
  }
  return port <= 65535 ? port : 0;
}
