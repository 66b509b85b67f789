/**
 * Rewrites upstream response headers that name the upstream's own address, so a browser
 * never gets sent to (or stores cookies for) an internal host it cannot reach and should
 * not learn about (SPEC section 4).
 */

export interface ResponseRewriteRule {
  /** `http://10.0.0.5:3000`, as URL.origin spells it. */
  readonly upstreamOrigin: string;
  readonly upstreamHostname: string;
  /** The upstream base path (`/base`) or ''. */
  readonly upstreamBasePath: string;
  /** `https://wiki.example.com`. */
  readonly externalOrigin: string;
  readonly externalHostname: string;
  /** The route's path prefix, put back in front when strip_prefix removed it. */
  readonly externalPrefix: string;
}

function startsWithSegment(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  const next = path.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */ || next === 35 /* # */;
}

/** Maps an upstream path (with query/fragment) back to the external path. */
function mapPath(rest: string, rule: ResponseRewriteRule): string | undefined {
  if (!startsWithSegment(rest, rule.upstreamBasePath)) return undefined;
  let path = rest.slice(rule.upstreamBasePath.length);
  if (path === '' || path[0] !== '/') path = `/${path}`;
  return rule.externalPrefix === '' ? path : rule.externalPrefix + (path === '/' ? '/' : path);
}

/**
 * Rewrites a Location header. An absolute URL on the upstream's origin becomes the external
 * origin; a path-absolute one gets the upstream base path swapped for the route prefix.
 * Anything else (another site, a relative path) is left as the app wrote it.
 */
export function rewriteLocation(location: string, rule: ResponseRewriteRule): string {
  if (location.startsWith('/') && !location.startsWith('//')) {
    if (rule.upstreamBasePath === '' && rule.externalPrefix === '') return location;
    return mapPath(location, rule) ?? location;
  }
  // Stops an internal-address leak: a protocol-relative `//10.0.0.5:3000/x` names the upstream too.
  const absolute = location.startsWith('//') ? rule.upstreamOrigin.slice(0, rule.upstreamOrigin.indexOf(':') + 1) + location : location;
  if (absolute.length >= rule.upstreamOrigin.length && absolute.slice(0, rule.upstreamOrigin.length).toLowerCase() === rule.upstreamOrigin) {
    const rest = absolute.slice(rule.upstreamOrigin.length);
    if (rest === '' || rest[0] === '/' || rest[0] === '?' || rest[0] === '#') {
      const mapped = mapPath(rest === '' ? '/' : rest[0] === '/' ? rest : `/${rest}`, rule);
      if (mapped !== undefined) return rule.externalOrigin + mapped;
    }
  }
  return location;
}

const DOMAIN_ATTRIBUTE = /;\s*domain\s*=\s*([^;]*)/i;

/** Rewrites `Domain=<upstream host>` in a Set-Cookie value to the external host. */
export function rewriteSetCookie(cookie: string, rule: ResponseRewriteRule): string {
  const match = DOMAIN_ATTRIBUTE.exec(cookie);
  if (!match) return cookie;
  const domain = match[1]!.trim().replace(/^\./, '').toLowerCase();
  if (domain !== rule.upstreamHostname.toLowerCase()) return cookie;
  return cookie.slice(0, match.index) + `; Domain=${rule.externalHostname}` + cookie.slice(match.index + match[0].length);
}
