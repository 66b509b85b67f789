/**
 * Small, allocation-light Cookie header helpers for the hot path: find one cookie, or drop
 * the gateway's own cookies before a request goes upstream (an app must never see, log or
 * leak the gateway's session cookie).
 */

/** The raw value of cookie `name` in a Cookie header, or undefined. The first one wins. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end) {
      const key = header.slice(start, eq).trim();
      if (key === name) {
        let value = header.slice(eq + 1, end).trim();
        if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
        return value;
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** The Cookie header without the named cookies; undefined when nothing is left. */
export function removeCookies(header: string, names: ReadonlySet<string>): string | undefined {
  const kept: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    const key = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (key !== '' && !names.has(key)) kept.push(part.trim());
  }
  return kept.length > 0 ? kept.join('; ') : undefined;
}

export interface CookieOptions {
  readonly maxAgeSeconds?: number;
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: 'lax' | 'strict' | 'none';
  readonly path?: string;
  readonly domain?: string;
}

/** A Set-Cookie value. `value` must already be cookie-safe (we only set base64url tokens). */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  let cookie = `${name}=${value}; Path=${options.path ?? '/'}`;
  if (options.maxAgeSeconds !== undefined) cookie += `; Max-Age=${options.maxAgeSeconds}`;
  if (options.domain) cookie += `; Domain=${options.domain}`;
  if (options.httpOnly ?? true) cookie += '; HttpOnly';
  if (options.secure) cookie += '; Secure';
  if (options.sameSite) cookie += `; SameSite=${options.sameSite[0]!.toUpperCase()}${options.sameSite.slice(1)}`;
  return cookie;
}
