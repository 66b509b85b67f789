/**
 * Request-target normalisation: the one place that turns `req.url` into the path that routing,
 * the public-path check and the upstream all see (SPEC.md section 2).
 *
 * Why it matters: a gateway that checks one spelling of a path and forwards another lets a
 * client reach a protected resource through a "public" spelling (`/public/../admin`). So we
 * either reject a target outright (400, never forwarded) or rewrite it to a single canonical
 * form that is both matched and forwarded, and that an upstream cannot resolve any differently.
 *
 * Node hands us `req.url` decoded as latin1, so every char code is one byte of the request line.
 * Clean paths (the vast majority) take a scan-only fast path that allocates nothing but the result.
 */

/**
 * The outcome of {@link normalizeRequestTarget}. `query` is `''` or starts with `?`.
 * `path` is what is forwarded; `policyPath` is what routing and `public` see: the same path
 * without `;` path parameters (see {@link withoutPathParameters}).
 */
export type NormalizedTarget = { ok: true; path: string; policyPath: string; query: string } | { ok: false; reason: string };

const SLASH = 0x2f;
const DOT = 0x2e;
const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;

/** Bytes that may appear raw in a normalised path (RFC 3986 pchar and `/`, minus `%`). */
const RAW_ALLOWED = new Uint8Array(256);
/** Bytes that are decoded when percent-encoded (RFC 3986 unreserved). */
const UNRESERVED = new Uint8Array(256);
/** `%XX` (upper-case hex) for every byte. */
const PERCENT_ENCODED: readonly string[] = Array.from(
  { length: 256 },
  (_, byte) => '%' + byte.toString(16).toUpperCase().padStart(2, '0'),
);
/** Hex digit value per char code, or -1. */
const HEX_VALUE = new Int8Array(128).fill(-1);

for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[char.charCodeAt(0)] = 1;
  RAW_ALLOWED[char.charCodeAt(0)] = 1;
}
for (const char of "!$&'()*+,;=:@/") RAW_ALLOWED[char.charCodeAt(0)] = 1;
for (let digit = 0; digit < 16; digit++) {
  const hex = digit.toString(16);
  HEX_VALUE[hex.charCodeAt(0)] = digit;
  HEX_VALUE[hex.toUpperCase().charCodeAt(0)] = digit;
}

function reject(reason: string): NormalizedTarget {
  return { ok: false, reason };
}

function isControlByte(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

/**
 * Normalises a raw request-target (`req.url`, origin-form) into the canonical path that is
 * matched against routes and public globs and forwarded upstream, plus the untouched query.
 *
 * Rejects (`ok: false`, with a short reason for the log) anything that is not origin-form,
 * contains control characters, a raw `\`, an encoded `/`, `\` or control character, a
 * malformed escape, bytes that are not valid UTF-8, a `..` above the root or a dot segment
 * with parameters (`..;`). Otherwise: decodes percent-encoded unreserved characters,
 * upper-cases the hex of the escapes it keeps, percent-encodes raw bytes not allowed in a
 * path, folds duplicate slashes and resolves `.`/`..` (after decoding, so `%2e%2e` is `..`).
 * A trailing slash is kept.
 */
export function normalizeRequestTarget(rawUrl: string): NormalizedTarget {
  // Absolute-form (`http://other/...`) and `*` would let the client pick a host other than
  // the Host header that routing used; only origin-form is proxied.
  if (rawUrl.charCodeAt(0) !== SLASH) return reject('request-target is not origin-form');

  let queryStart = rawUrl.indexOf('?');
  if (queryStart === -1) queryStart = rawUrl.length;

  for (let i = queryStart + 1; i < rawUrl.length; i++) {
    const code = rawUrl.charCodeAt(i);
    // CR/LF and friends in the query would be header injection / response splitting upstream.
    if (isControlByte(code)) return reject('control character in query');
    // Not a byte: Node never produces it; refuse rather than guess an encoding.
    if (code > 0xff) return reject('non-byte character in query');
  }
  const query = queryStart === rawUrl.length ? '' : rawUrl.slice(queryStart);

  if (isAlreadyCanonical(rawUrl, queryStart)) {
    const path = queryStart === rawUrl.length ? rawUrl : rawUrl.slice(0, queryStart);
    return { ok: true, path, policyPath: withoutPathParameters(path), query };
  }
  return normalizePathSlowly(rawUrl, queryStart, query);
}

/**
 * The path as the most lenient app behind the gateway would route it: Tomcat, Jetty and
 * Spring drop `;` path parameters from every segment (`/admin;x/secret` is `/admin/secret`
 * to them, `/secret.txt;.css` is `/secret.txt`), and some decode `%3B` to `;` first. Policy
 * must see that path, or `/admin;x/secret` passes a public `/**` rule and `/a.txt;.css` a
 * public `**\/*.css` one. Segments left empty fold away, as duplicate slashes do.
 */
export function withoutPathParameters(path: string): string {
  if (!path.includes(';') && !path.includes('%3B')) return path;
  const kept: string[] = [];
  for (const segment of path.split('/')) {
    let end = segment.indexOf(';');
    const encoded = segment.indexOf('%3B');
    if (encoded !== -1 && (end === -1 || encoded < end)) end = encoded;
    const name = end === -1 ? segment : segment.slice(0, end);
    if (name !== '') kept.push(name);
  }
  const trailingSlash = path.length > 1 && path.endsWith('/') && kept.length > 0;
  return `/${kept.join('/')}${trailingSlash ? '/' : ''}`;
}

/**
 * True when `rawUrl[0, end)` only holds raw-allowed bytes, no `%`, no empty segment and no
 * segment starting with a dot: then normalisation would not change it.
 */
function isAlreadyCanonical(rawUrl: string, end: number): boolean {
  let previous = SLASH;
  for (let i = 1; i < end; i++) {
    const code = rawUrl.charCodeAt(i);
    if (code > 0xff || RAW_ALLOWED[code] !== 1) return false;
    if (previous === SLASH && (code === SLASH || code === DOT)) return false;
    previous = code;
  }
  return true;
}

/** Incremental UTF-8 validator over the decoded bytes of the path (RFC 3629, table 3-7). */
class Utf8Validator {
  private remaining = 0;
  private lowerBound = 0x80;
  private upperBound = 0xbf;

  /** Feeds one byte; false when the sequence so far cannot be valid UTF-8. */
  accept(byte: number): boolean {
    if (this.remaining > 0) {
      if (byte < this.lowerBound || byte > this.upperBound) return false;
      this.remaining--;
      this.lowerBound = 0x80;
      this.upperBound = 0xbf;
      return true;
    }
    if (byte < 0x80) return true;
    // Overlong forms (C0/C1, E0 80-9F, F0 80-8F) are how `%c0%ae` became `.` on old servers.
    if (byte >= 0xc2 && byte <= 0xdf) {
      this.remaining = 1;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      this.remaining = 2;
      if (byte === 0xe0) this.lowerBound = 0xa0;
      // UTF-16 surrogates encoded as UTF-8 (CESU) are not characters.
      if (byte === 0xed) this.upperBound = 0x9f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.remaining = 3;
      if (byte === 0xf0) this.lowerBound = 0x90;
      if (byte === 0xf4) this.upperBound = 0x8f;
    } else {
      return false;
    }
    return true;
  }

  get complete(): boolean {
    return this.remaining === 0;
  }
}

function normalizePathSlowly(rawUrl: string, end: number, query: string): NormalizedTarget {
  const segments: string[] = [];
  const utf8 = new Utf8Validator();
  let segment = '';
  let endsWithSlash = false;

  for (let i = 1; i <= end; i++) {
    if (i === end || rawUrl.charCodeAt(i) === SLASH) {
      // A multi-byte character cut by `/` (or by the end) is invalid UTF-8 like any other.
      if (!utf8.complete) return reject('path bytes are not valid UTF-8');
      const isLast = i === end;
      if (segment === '' || segment === '.') {
        // `//` folds to `/` so `//public/../admin` cannot mean two different things.
        endsWithSlash = isLast;
      } else if (segment === '..') {
        // A `..` above the root is a traversal attempt; clamping it would hide the attack.
        if (segments.pop() === undefined) return reject('path climbs above the root');
        endsWithSlash = isLast;
      } else {
        // `..;x` is `..` to Tomcat/Jetty (path parameters) and `.. ` or `...` is `..` to
        // Windows/IIS (trailing dots and spaces dropped): we would see a name, they a parent.
        if (segment.charCodeAt(0) === DOT && isDisguisedDotSegment(segment)) {
          return reject('dot segment with parameters or trailing dots/spaces');
        }
        segments.push(segment);
        endsWithSlash = false;
      }
      segment = '';
      continue;
    }

    const code = rawUrl.charCodeAt(i);
    if (code === PERCENT) {
      const high = i + 1 < end ? hexValue(rawUrl.charCodeAt(i + 1)) : -1;
      const low = i + 2 < end ? hexValue(rawUrl.charCodeAt(i + 2)) : -1;
      // A lone `%`, `%G1` or `%u002e` is decoded differently (or not at all) by each server.
      if (high < 0 || low < 0) return reject('malformed percent-escape');
      const byte = (high << 4) | low;
      i += 2;
      // `%2F` would be one segment here and a separator to an upstream that decodes first.
      if (byte === SLASH) return reject('encoded slash');
      // `%5C` is a separator on Windows servers and to many decoders.
      if (byte === BACKSLASH) return reject('encoded backslash');
      // `%00` truncates paths in C-based upstreams; `%0d%0a` splits headers after decoding.
      if (byte === 0) return reject('encoded NUL');
      if (isControlByte(byte)) return reject('encoded control character');
      // Overlong and otherwise invalid UTF-8 (`%c0%ae`) decodes to `.` or `/` on lax servers.
      if (!utf8.accept(byte)) return reject('percent-escapes are not valid UTF-8');
      segment += UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : PERCENT_ENCODED[byte];
      continue;
    }

    // Raw control characters enable request smuggling and header injection upstream.
    if (isControlByte(code)) return reject('control character in path');
    // `\` is a separator to Windows servers and to WHATWG URL parsers: `/public/..\admin`.
    if (code === BACKSLASH) return reject('backslash in path');
    if (code > 0xff) return reject('non-byte character in path');
    // Raw non-UTF-8 bytes would be forwarded as escapes that lax servers decode as `.` or `/`.
    if (!utf8.accept(code)) return reject('path bytes are not valid UTF-8');
    segment += RAW_ALLOWED[code] === 1 ? rawUrl[i] : PERCENT_ENCODED[code];
  }

  let path = '/' + segments.join('/');
  if (endsWithSlash && segments.length > 0) path += '/';
  // `%252F` (or `%25%32%46`) is `%2F` to us and `/` to an app that decodes twice (IIS, some
  // frameworks): a path that still spells an escape after one decoding is refused.
  if (DOUBLE_ENCODED.test(path)) return reject('double-encoded escape');
  return { ok: true, path, policyPath: withoutPathParameters(path), query };
}

/** An escaped `%` followed by two hex digits, in a normalised path (escapes kept are upper-case). */
const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;

function hexValue(code: number): number {
  return code < 128 ? (HEX_VALUE[code] as number) : -1;
}

/**
 * A segment that starts with `.` and is `.`/`..` followed by `;` (raw or `%3B`), or made only
 * of dots and spaces (`...`, `.. `), which some servers read as `.` or `..`.
 */
function isDisguisedDotSegment(segment: string): boolean {
  const dots = segment.charCodeAt(1) === DOT ? 2 : 1;
  if (segment.charCodeAt(dots) === SEMICOLON || segment.startsWith('%3B', dots)) return true;
  let i = 0;
  while (i < segment.length) {
    if (segment.charCodeAt(i) === DOT) i += 1;
    else if (segment.startsWith('%20', i)) i += 3;
    else return false;
  }
  return true;
}

/**
 * Brings a path written in configuration (a route prefix, a glob's literal text) into the
 * form {@link normalizeRequestTarget} produces, so it can be compared with request paths:
 * unreserved escapes decoded, hex upper-cased, other characters percent-encoded as UTF-8.
 * Returns `undefined` for a malformed escape or a lone surrogate.
 */
export function canonicalizeConfiguredPathText(text: string): string | undefined {
  let result = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === PERCENT) {
      const high = hexValue(text.charCodeAt(i + 1));
      const low = hexValue(text.charCodeAt(i + 2));
      if (high < 0 || low < 0) return undefined;
      const byte = (high << 4) | low;
      result += UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : PERCENT_ENCODED[byte];
      i += 2;
    } else if (code < 0x80) {
      result += RAW_ALLOWED[code] === 1 ? text[i] : PERCENT_ENCODED[code];
    } else {
      const codePoint = text.codePointAt(i) as number;
      if (codePoint >= 0xd800 && codePoint <= 0xdfff) return undefined;
      const char = String.fromCodePoint(codePoint);
      result += encodeURIComponent(char);
      i += char.length - 1;
    }
  }
  return result;
}
