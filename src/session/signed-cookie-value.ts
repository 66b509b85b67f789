/**
 * The session cookie's value: `s:<id>.<HMAC-SHA256(id)>` in base64 without padding,
 * URL-encoded — the format express-session writes, kept so the cookie reads the same to any
 * tool that knows it. The sign-in pages sign with the first secret; every secret verifies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

function signature(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
}

/** Signs a session id, in express-session's format. */
export function signSessionId(id: string, secret: string): string {
  return `s:${id}.${signature(id, secret)}`;
}

/**
 * The session id in a cookie value if its signature verifies under any secret (rotation),
 * else undefined. Stops forged and tampered cookies before any store lookup.
 */
export function unsignSessionId(cookieValue: string, secrets: readonly string[]): string | undefined {
  let value = cookieValue;
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  if (!value.startsWith('s:')) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot <= 2) return undefined;
  const id = value.slice(2, dot);
  const given = Buffer.from(value.slice(dot + 1));
  let valid = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signature(id, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid ? id : undefined;
}
