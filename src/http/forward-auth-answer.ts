/**
 * The answer to a forward-auth question (SPEC section 6), from the admission of the original
 * request (admission.ts):
 *
 *   may pass     200, empty, with the identity headers and the assertion for the front proxy
 *                to copy onto the request it forwards (named with empty values on a
 *                public path, see below)
 *   sign in      (the step-up page instead of the sign-in page for a code session on a
 *                `require: passkey` route)
 *                /auth/request: 401 with `Location:` the sign-in URL (nginx turns it into a
 *                redirect); /auth/forward and /auth/ext: what a proxied request would get, a
 *                302 for a browser page, else 401 JSON — the front proxy hands it to the guest
 *   not allowed  /auth/request: 403; the others: the 403 page (or JSON)
 *   refused      the error (400 for a question that names no valid request, 403 for an
 *                untrusted peer, 404 for an unknown host or route, 503 when the store cannot answer)
 */
import type http from 'node:http';
import type { GatewayState } from '../gateway-state.js';
import { appendIdentityHeaders, IDENTITY_HEADERS } from '../proxy/identity-headers.js';
import type { Admission } from './admission.js';
import type { RequestContext } from './request-context.js';
import type { Question } from './forward-auth-question.js';
import { originalUrlOf, sendForbidden, sendJson, sendSignInRequired, signInUrlOf, type SignInStep } from './access-answers.js';

/** Answers a question the admission let pass: 200 with who the guest is. */
export function answerMayPass(
  res: http.ServerResponse,
  state: GatewayState,
  admission: Extract<Admission, { kind: 'forward' }>,
  assertion: string | undefined,
  question: Question | undefined,
): void {
  const headers: string[] = [];
  appendIdentityHeaders(headers, admission.identity, admission.route.name, admission.route.headerTemplates);
  if (assertion !== undefined) headers.push(state.config.assertion.header, assertion);
  res.statusCode = 200;
  for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!);
  // Every header a front proxy may copy is named, empty when nobody is signed in (a public
  // path), so that copying it replaces a client's own copy: Envoy and Gateway API only
  // overwrite headers the answer has, and Caddy before 2.9 would otherwise set its
  // placeholder text ("{http.reverse_proxy.header.X-Auth-Request-Email}"). Envoy is also
  // told to remove the empty ones, so the app gets no header rather than an empty one.
  const empty: string[] = [];
  for (const name of [...IDENTITY_HEADERS, ...admission.route.headerTemplates.map((template) => template.name), state.config.assertion.header]) {
    if (res.hasHeader(name)) continue;
    res.setHeader(name, '');
    empty.push(name.toLowerCase());
  }
  if (question === 'ext' && empty.length > 0) res.setHeader('x-envoy-auth-headers-to-remove', empty.join(','));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', 0);
  res.end();
}

/** Answers a question whose original request must sign in first. */
export function answerSignInFirst(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, step: SignInStep = 'sign_in'): void {
  const originalUrl = originalUrlOf(context);
  if (context.question !== 'request') return sendSignInRequired(req, res, context, originalUrl, step);
  const loginUrl = signInUrlOf(context, originalUrl, step);
  res.setHeader('location', loginUrl);
  sendJson(req, res, 401, { error: step === 'passkey' ? 'passkey_required' : 'unauthenticated', login_url: loginUrl, request_id: context.requestId });
}

/** Answers a question whose original request is signed in as someone the route does not allow. */
export function answerNotAllowed(req: http.IncomingMessage, res: http.ServerResponse, context: RequestContext, state: GatewayState, admission: Extract<Admission, { kind: 'forbidden' }>): void {
  const originalUrl = originalUrlOf(context);
  if (context.question !== 'request') return sendForbidden(req, res, context, state, admission.route, admission.email, originalUrl);
  sendJson(req, res, 403, { error: 'forbidden', email: admission.email, request_id: context.requestId });
}
