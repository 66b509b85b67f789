/**
 * The gateway's own URLs under `/.gatehouse/` (SPEC section 3), served by Express with
 * helmet. Only these pages use Express: proxied requests never pass through it.
 */
import express, { type Express, type Request, type Response } from 'express';
import helmet from 'helmet';
import { createHash } from 'node:crypto';
import { GATEWAY_PAGE_HELMET_OPTIONS } from './security-headers.js';
import { GATEWAY_STYLESHEET } from './stylesheet.js';
import { renderBrandStylesheet, sendErrorResponse, type Branding } from './pages.js';
import type { HeaderList } from './security-headers.js';

export interface GatehouseAppDeps {
  /** Current branding and page headers (they change on config reload). */
  readonly getPageSettings: () => { branding: Branding; pageHeaders: HeaderList };
  readonly requestIdOf: (req: Request) => string;
}

function sendStylesheet(req: Request, res: Response, css: string): void {
  const etag = `"${createHash('sha256').update(css).digest('base64url').slice(0, 27)}"`;
  res.setHeader('content-type', 'text/css; charset=utf-8');
  res.setHeader('cache-control', 'public, max-age=3600');
  res.setHeader('etag', etag);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.send(css);
}

/** Builds the Express app for `/.gatehouse/*`. */
export function createGatehouseApp(deps: GatehouseAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(helmet(GATEWAY_PAGE_HELMET_OPTIONS));

  app.get('/.gatehouse/assets/gatehouse.css', (req, res) => sendStylesheet(req, res, GATEWAY_STYLESHEET));
  app.get('/.gatehouse/assets/brand.css', (req, res) =>
    sendStylesheet(req, res, renderBrandStylesheet(deps.getPageSettings().branding)),
  );

  app.use((req: Request, res: Response) => {
    const { branding, pageHeaders } = deps.getPageSettings();
    sendErrorResponse(req, res, 'unknown_route', { requestId: deps.requestIdOf(req), branding, pageHeaders });
  });
  return app;
}
