/**
 * Security headers for the gateway's own pages, computed once from helmet so the proxied
 * hot path can apply them with a loop instead of running middleware. They are never added
 * to or removed from upstream responses (SPEC section 5).
 */
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Helmet options for the gateway's pages. `formTargets` are the route origins: after a
 * sign-in form the browser is redirected to the original URL, and browsers apply
 * `form-action` to that redirect too.
 */
export function gatewayPageHelmetOptions(formTargets: Iterable<string> = []): HelmetOptions {
  return {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        // The passkey scripts are files of ours (no inline script), and talk only to us.
        'script-src': ["'self'"],
        'connect-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'https:'],
        'form-action': ["'self'", ...formTargets],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'none'"],
      },
    },
    // Browsers derive a form POST's `Origin` from the page's referrer policy: helmet's
    // default `no-referrer` makes them send `Origin: null`, which the CSRF check (rightly)
    // refuses, so no real browser could sign in. `same-origin` keeps our own Origin on our
    // own forms and still sends nothing (not even the `rd` deep link) to other sites.
    referrerPolicy: { policy: 'same-origin' },
    // Pages may be served over plain http in development; HSTS belongs to the TLS terminator.
    strictTransportSecurity: false,
  };
}

export type HeaderList = ReadonlyArray<readonly [string, string]>;

/** Runs helmet once against a recording response and returns the headers it set. */
export function computeGatewayPageHeaders(options: HelmetOptions = gatewayPageHelmetOptions()): HeaderList {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
    getHeader(name: string) {
      return headers.get(name.toLowerCase());
    },
  };
  let error: unknown;
  helmet(options)(
    { headers: {}, method: 'GET', url: '/' } as unknown as IncomingMessage,
    recorder as unknown as ServerResponse,
    (err?: unknown) => {
      error = err;
    },
  );
  if (error) throw error;
  return [...headers.entries()];
}

/** Sets precomputed page headers on a response. */
export function applyHeaders(res: ServerResponse, headers: HeaderList): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}
