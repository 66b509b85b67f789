/**
 * Server-rendered pages of the gateway: one layout, no JavaScript, accessible, branded from
 * config, in the guest's language. Every dynamic value is escaped here or by the catalogue
 * helpers, never trusted from callers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayConfig } from '../config/schema.js';
import { escapeHtml } from '../lib/html.js';
import { GATEWAY_ERRORS, type GatewayErrorCode } from './errors.js';
import { applyHeaders, type HeaderList } from './security-headers.js';
import { deriveBrandColors } from './brand-colors.js';
import { chooseLanguage, type Language } from '../i18n/languages.js';
import { fillHtml, messagesFor, type Catalogue } from '../i18n/catalogue.js';

export type Branding = GatewayConfig['branding'];

/** What every page needs to speak to this guest: language, its catalogue, the branding. */
export interface PageLocale {
  readonly language: Language;
  readonly t: Catalogue;
  readonly branding: Branding;
}

/** The locale for a request: `branding.language`, else the browser's Accept-Language. */
export function pageLocaleFor(req: IncomingMessage, branding: Branding): PageLocale {
  const language = chooseLanguage(req.headers['accept-language'], branding.language);
  return { language, t: messagesFor(language), branding };
}

export interface PageContent {
  /** Plain text for `<title>`. */
  readonly title: string;
  /** Trusted HTML made by this module's callers from escaped parts. */
  readonly bodyHtml: string;
  readonly wide?: boolean;
}

/** Renders a full HTML document in the gateway's layout. */
export function renderPage(locale: PageLocale, page: PageContent): string {
  const { branding } = locale;
  const logo = branding.logo_url ? `<img src="${escapeHtml(branding.logo_url)}" alt="">` : '';
  return `<!doctype html>
<html lang="${locale.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<meta name="color-scheme" content="light dark">
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

/** The per-deployment stylesheet: brand colours as CSS variables (no inline styles, so CSP stays strict). */
export function renderBrandStylesheet(branding: Branding): string {
  const colors = deriveBrandColors(branding.color);
  return `:root { --brand: ${colors.brand}; --on-brand: ${colors.onBrand}; --link-light: ${colors.linkLight}; --link-dark: ${colors.linkDark}; }\n`;
}

/** True when the client asked for HTML (a browser), false for API clients. */
export function acceptsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('text/html');
}

/** The status line every error page ends with: status, request id, and what to do with it. */
export function renderErrorStatus(locale: PageLocale, status: number, requestId: string): string {
  return `<p class="status">${fillHtml(locale.t.page.errorStatus, { status, id: { html: `<span class="request-id">${escapeHtml(requestId)}</span>` } })}<br>
${escapeHtml(locale.t.page.errorHelp)}</p>`;
}

/** Errors a guest can usefully retry: the page offers "Try again" (the same URL). */
const RETRYABLE: ReadonlySet<GatewayErrorCode> = new Set(['upstream_unreachable', 'upstream_timeout', 'store_unavailable', 'internal']);

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
    const locale = pageLocaleFor(req, options.branding);
    const text = locale.t.errors[code];
    applyHeaders(res, options.pageHeaders);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.setHeader('content-language', locale.language);
    body = renderPage(locale, {
      title: text.title,
      bodyHtml: `<h1>${escapeHtml(text.title)}</h1>
<p class="lead">${escapeHtml(text.message)}</p>
${RETRYABLE.has(code) ? `<p><a class="button" href="">${escapeHtml(locale.t.page.tryAgain)}</a></p>\n` : ''}${renderErrorStatus(locale, spec.status, options.requestId)}`,
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
