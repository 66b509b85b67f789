/**
 * Cross-site request forgery defence for the sign-in forms (SPEC section 3), in two layers:
 *
 * 1. A double-submit token: a random value in an HttpOnly cookie, and in the form an HMAC of
 *    it under the gateway secret. A cross-site page can make a browser POST, but cannot read
 *    the cookie or the form, so it cannot produce the token. This stops login CSRF (signing a
 *    victim in as the attacker) without a server-side session before sign-in.
 * 2. Fetch metadata: a POST whose `Origin` is not one of the configured route origins, or
 *    whose `Sec-Fetch-Site` is `cross-site`, is refused even with a token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** A new random value for the CSRF cookie. */
export function newCsrfCookieValue(): string {
  return randomBytes(24).toString('base64url');
}

/** The form token that belongs to a CSRF cookie value. */
export function csrfTokenFor(cookieValue: string, secret: string): string {
  return createHmac('sha256', secret).update(`csrf\n${cookieValue}`).digest('base64url');
}

/** True when the form's token belongs to the browser's CSRF cookie (under any secret). */
export function csrfTokenIsValid(cookieValue: string | undefined, token: unknown, secrets: readonly string[]): boolean {
  if (!cookieValue || typeof token !== 'string' || token.length > 128) return false;
  const given = Buffer.from(token);
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(csrfTokenFor(cookieValue, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}

/** True when fetch metadata says the POST came from one of our own origins (or says nothing). */
export function requestOriginIsAllowed(req: IncomingMessage, allowedOrigins: ReadonlySet<string>): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  // "null" comes from sandboxed frames and privacy redirects: never one of ours.
  return allowedOrigins.has(origin.toLowerCase());
}
