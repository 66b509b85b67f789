/**
 * The gateway's answers when a request may not pass, for a proxied request and for a
 * forward-auth question alike (where the front proxy hands them to the guest as they are):
 * sign in first (a redirect for a browser page, 401 JSON otherwise; to the step-up page and
 * `passkey_required` when a `require: passkey` route gets a code session), or signed in as someone
 * this app does not allow (the 403 page, or JSON).
 */
import type http from 'node:http';
import { appNameOf } from '../config/schema.js';
import type { GatewayState } from '../gateway-state.js';
import type { RouteRuntime } from '../proxy/route-runtime.js';
import type { RequestContext } from './request-context.js';
import { acceptsHtml, pageLocaleFor } from './pages.js';
import { applyHeaders } from './security-headers.js';
import { renderForbiddenPage } from './sign-in/sign-in-pages.js';

/** The URL the guest asked for, to come back to after signing in; sets `context.externalOrigin`. */
export function originalUrlOf(context: RequestContext): string {
  context.externalOrigin = `${context.protocol}://${context.hostHeader!.toLowerCase()}`;
  return context.externalOrigin + context.path + context.query;
}

/** What the guest must do first: sign in, or (signed in by code, on a `require: passkey` route) use a passkey. */
export type SignInStep = 'sign_in' | 'passkey';

/** The sign-in page's URL on the request's own host (or the step-up page's), coming back to `originalUrl`. */
export function signInUrlOf(context: RequestContext, originalUrl: string, step: SignInStep = 'sign_in'): string {
  const page = step === 'passkey' ? '/.gatehouse/passkey' : '/.gatehouse/login';
  return `${context.externalOrigin}${page}?rd=${encodeURIComponent(originalUrl)}`;
}

/**
 * No valid session: browsers asking for a page go to the sign-in page and come back to the
 * exact URL; everything else (APIs, forms, scripts) gets 401 JSON with the sign-in URL.
 * `context.method` is the original request's (a forward-auth question is often a GET about a POST).
 */
export function sendSignInRequired(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, originalUrl: string, step: SignInStep = 'sign_in'): void {
  const loginUrl = signInUrlOf(context, originalUrl, step);
  res.setHeader('cache-control', 'no-store');
  if ((context.method === 'GET' || context.method === 'HEAD') && acceptsHtml(req)) {
    res.statusCode = 302;
    res.setHeader('location', loginUrl);
    res.setHeader('content-length', 0);
    res.end();
    return;
  }
  sendJson(req, res, 401, { error: step === 'passkey' ? 'passkey_required' : 'unauthenticated', login_url: loginUrl, request_id: context.requestId });
}

/** Signed in, but not allowed here: say as whom, and offer to sign in as someone else. */
export function sendForbidden(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: RequestContext,
  state: GatewayState,
  route: RouteRuntime,
  email: string,
  originalUrl: string,
): void {
  res.setHeader('cache-control', 'no-store');
  if (!acceptsHtml(req)) {
    sendJson(req, res, 403, {
      error: 'forbidden',
      email,
      logout_url: `${context.externalOrigin}/.gatehouse/logout?rd=${encodeURIComponent(originalUrl)}`,
      request_id: context.requestId,
    });
    return;
  }
  const locale = pageLocaleFor(req, state.config.branding);
  applyHeaders(res, state.pageHeaders);
  res.statusCode = 403;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('content-language', locale.language);
  const body = renderForbiddenPage(locale, { email, appName: appNameOf(route.config), returnTo: originalUrl, requestId: context.requestId });
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A small JSON answer (never cached, never sniffed as HTML). */
export function sendJson(req: http.IncomingMessage, res: http.ServerResponse, status: number, value: object): void {
  const body = JSON.stringify(value);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
