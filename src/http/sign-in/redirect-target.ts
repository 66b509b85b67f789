/**
 * Where to send a guest after sign-in (`rd`). Open redirects let a phishing link borrow our
 * sign-in page's trust, so only two forms are accepted: an absolute http(s) URL whose origin
 * is one of the configured routes' origins, or a path on the current site. Anything else
 * falls back to `/` (SPEC section 3).
 */

// Browsers treat `\` like `/` and drop tabs and newlines in URLs: `/\evil.test` and
// `/\t/evil.test` would become protocol-relative. Such characters are never accepted.
const UNSAFE_URL_CHARACTERS = /[\u0000-\u001f\u007f\\]/;

/** The validated redirect target, or `/`. */
export function safeRedirectTarget(rd: unknown, allowedOrigins: ReadonlySet<string>): string {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > 4096 || UNSAFE_URL_CHARACTERS.test(rd)) return '/';
  if (rd.startsWith('/')) {
    // `//evil.test` is protocol-relative: another site.
    return rd.startsWith('//') ? '/' : rd;
  }
  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return '/';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return '/';
  if (url.username || url.password) return '/';
  if (!allowedOrigins.has(url.origin)) return '/';
  return url.href;
}
