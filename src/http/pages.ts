/**
 * Server-rendered pages of the gateway: one layout, no JavaScript, accessible, branded from
 * config. Every dynamic value is escaped here, not by callers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayConfig } from '../config/schema.js';
import { escapeHtml } from './html.js';
import { GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
import { applyHeaders, type HeaderList } from './security-headers.js';

export type Branding = GatewayConfig['branding'];

export interface PageContent {
  readonly title: string;
  /** Trusted HTML made by this module's callers from escaped parts. */
  readonly bodyHtml: string;
  readonly wide?: boolean;
}

/** Renders a full HTML document in the gateway's layout. */
export function renderPage(branding: Branding, page: PageContent): string {
  const logo = branding.logo_url ? `<img src="${escapeHtml(branding.logo_url)}" alt="">` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(page.title)} · ${escapeHtml(branding.product_name)}</title>
<link rel="stylesheet" href="/.gatehouse/assets/gatehouse.css">
<link rel="stylesheet" href="/.gatehouse/assets/brand.css">
</head>
<body>
<main${page.wide ? ' class="wide"' : ''}>
<div class="brand">${logo}<span>${escapeHtml(branding.product_name)}</span></div>
${page.bodyHtml}
</main>
</body>
</html>
`;
}

/** The per-deployment stylesheet: the brand colour as a CSS variable (no inline styles, so CSP stays strict). */
export function renderBrandStylesheet(branding: Branding): string {
  return `:root { --brand: ${branding.color}; }\n`;
}

/** True when the client asked for HTML (a browser), false for API clients. */
export function acceptsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}

export interface ErrorResponseOptions {
  readonly requestId: string;
  readonly branding: Branding;
  readonly pageHeaders: HeaderList;
  /** Extra JSON fields, e.g. login_url. */
  readonly json?: Readonly<Record<string, string>>;
}

/** Answers with the gateway's own error page (HTML for browsers, JSON otherwise). */
export function sendErrorResponse(
  req: IncomingMessage,
  res: ServerResponse,
  code: GatewayErrorCode,
  options: ErrorResponseOptions,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const spec = GATEWAY_ERRORS[code];
  let body: string;
  if (acceptsHtml(req)) {
    applyHeaders(res, options.pageHeaders);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    body = renderPage(options.branding, {
      title: spec.title,
      bodyHtml: `<h1>${escapeHtml(spec.title)}</h1>
<p>${escapeHtml(spec.message)}</p>
<p class="status">Error ${spec.status} · request id <span class="request-id">${escapeHtml(options.requestId)}</span></p>`,
    });
  } else {
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('x-content-type-options', 'nosniff');
    body = JSON.stringify({ error: code, message: spec.message, request_id: options.requestId, ...options.json });
  }
  res.statusCode = spec.status;
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
