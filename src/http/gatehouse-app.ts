/**
 * The gateway's own URLs under `/.gatehouse/` (SPEC section 3), served by Express with the
 * helmet-derived page headers. Only these pages use Express: proxied requests never pass
 * through it.
 */
import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PASSKEY_SCRIPT } from './passkeys/passkey-script.js';
import type { Logger } from '../log/logger.js';
import { GATEWAY_STYLESHEET } from './stylesheet.js';
import { renderBrandStylesheet, sendErrorResponse, type Branding } from './pages.js';
import { applyHeaders, type HeaderList } from './security-headers.js';
import { StoreUnavailableError } from '../store/key-value-store.js';

export interface GatehouseAppDeps {
  /** Current branding and page headers (they change on config reload). */
  readonly getPageSettings: () => { branding: Branding; pageHeaders: HeaderList };
  readonly requestIdOf: (req: Request) => string;
  readonly signInRoutes: Router;
  readonly logger: Logger;
  /** How long a form's body may take to arrive (default FORM_BODY_TIMEOUT_MS). */
  readonly formBodyTimeoutMs?: number;
  /** The assertion's JSON Web Key Set, served at /.gatehouse/jwks.json. */
  readonly jwks: () => object;
  /** Cache-Control of the JWKS. */
  readonly jwksCacheControl?: string;
}

/**
 * A form's body must arrive within this long (SPEC section 4). The proxied path has no such
 * limit (uploads of any size), so it is the gateway's pages' own: a client that sends half a
 * POST and waits must not hold a connection and a parser forever (slow-body attack).
 */
export const FORM_BODY_TIMEOUT_MS = 10_000;

function sendStylesheet(req: Request, res: Response, css: string): void {
  sendAsset(req, res, css, 'text/css; charset=utf-8');
}

/** A static asset of ours, cached for an hour and revalidated by its hash. */
function sendAsset(req: Request, res: Response, body: string, contentType: string): void {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'public, max-age=3600');
  res.setHeader('etag', etag);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.send(body);
}

/**
 * @simplewebauthn/browser's own bundle (it sets `window.SimpleWebAuthnBrowser`), read once
 * from the installed package: the guest's browser loads it from the gateway, never a CDN.
 */
const WEBAUTHN_BROWSER_BUNDLE = readFileSync(
  join(dirname(createRequire(import.meta.url).resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'),
  'utf8',
);

/** Builds the Express app for `/.gatehouse/*`. */
export function createGatehouseApp(deps: GatehouseAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    applyHeaders(res, deps.getPageSettings().pageHeaders);
    next();
  });

  const formBodyTimeoutMs = deps.formBodyTimeoutMs ?? FORM_BODY_TIMEOUT_MS;
  app.use((req, res, next) => {
    if (req.method !== 'POST' || req.complete) return next();
    const timer = setTimeout(() => {
      if (req.complete || res.headersSent) return;
      const { branding, pageHeaders } = deps.getPageSettings();
      deps.logger.info({ event: 'form.body_timeout', req_id: deps.requestIdOf(req), path: req.path });
      res.shouldKeepAlive = false;
      sendErrorResponse(req, res, 'request_timeout', { requestId: deps.requestIdOf(req), branding, pageHeaders });
      // The rest of the body is not waited for: the connection goes with the answer.
      res.once('finish', () => req.destroy());
    }, formBodyTimeoutMs);
    req.once('end', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    next();
  });

  app.get('/.gatehouse/assets/gatehouse.css', (req, res) => sendStylesheet(req, res, GATEWAY_STYLESHEET));
  app.get('/.gatehouse/assets/brand.css', (req, res) => sendStylesheet(req, res, renderBrandStylesheet(deps.getPageSettings().branding)));
  app.get('/.gatehouse/assets/webauthn.js', (req, res) => sendAsset(req, res, WEBAUTHN_BROWSER_BUNDLE, 'text/javascript; charset=utf-8'));
  app.get('/.gatehouse/assets/passkeys.js', (req, res) => sendAsset(req, res, PASSKEY_SCRIPT, 'text/javascript; charset=utf-8'));
  app.get('/.gatehouse/jwks.json', (_req, res) => {
    res.setHeader('cache-control', deps.jwksCacheControl ?? 'public, max-age=300');
    res.setHeader('content-type', 'application/jwk-set+json');
    // Apps on other origins may fetch it from a browser too; it is public by nature.
    res.setHeader('access-control-allow-origin', '*');
    res.send(JSON.stringify(deps.jwks()));
  });
  app.use(deps.signInRoutes);

  app.use((req: Request, res: Response) => {
    const { branding, pageHeaders } = deps.getPageSettings();
    sendErrorResponse(req, res, 'unknown_route', { requestId: deps.requestIdOf(req), branding, pageHeaders });
  });
  // Errors become a page with a request id; the log gets the detail, the guest never a stack.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { branding, pageHeaders } = deps.getPageSettings();
    const status = (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
    if (error instanceof StoreUnavailableError) {
      deps.logger.warn({ event: 'store.request_failed', req_id: deps.requestIdOf(req), error: error.message });
      return sendErrorResponse(req, res, 'store_unavailable', { requestId: deps.requestIdOf(req), branding, pageHeaders });
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Body parser errors: too large, malformed, wrong charset.
      return sendErrorResponse(req, res, 'bad_request', { requestId: deps.requestIdOf(req), branding, pageHeaders });
    }
    deps.logger.error({ event: 'request.crashed', req_id: deps.requestIdOf(req), error: error instanceof Error ? error.stack : String(error) });
    sendErrorResponse(req, res, 'internal', { requestId: deps.requestIdOf(req), branding, pageHeaders });
  });
  return app;
}
