/**
 * The sign-in URLs (SPEC section 3): login form, code request, code check, logout. The
 * order of checks on every POST: fetch metadata and Origin, CSRF token, then the form.
 *
 * No enumeration: an allowed and a not-allowed address go through the same steps, get the
 * same page, status and headers, and the mail is sent after the response is decided.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from '../../log/logger.js';
import type { GatewayConfig } from '../../config/schema.js';
import type { Notifier } from '../../mail/notifier.js';
import type { SignInCodeService } from '../../otp/sign-in-codes.js';
import { normalizeEmailAddress } from '../../config/values.js';
import { mayUseSomeRoute, type InvitationCheck } from '../../policy/access-policy.js';
import { readCookie, serializeCookie } from '../cookies.js';
import { applyHeaders, type HeaderList } from '../security-headers.js';
import { sendErrorResponse } from '../pages.js';
import { requestContextOf, type RequestContext } from '../request-context.js';
import { cookieIsSecure, type GatewayCookieNames } from '../../session/session-cookies.js';
import type { SignedInSessionData } from '../../session/session-resolver.js';
import type { SessionDirectory } from '../../session/session-directory.js';
import { csrfTokenFor, csrfTokenIsValid, newCsrfCookieValue, requestOriginIsAllowed } from './csrf.js';
import { safeRedirectTarget } from './redirect-target.js';
import {
  renderCodePage,
  renderFormRejectedPage,
  renderLoginPage,
  renderSignedOutPage,
  renderTooManyRequestsPage,
  type FormContext,
} from './sign-in-pages.js';

/** What the sign-in pages read from the current config (it changes on reload). */
export interface SignInSettings {
  readonly config: GatewayConfig;
  readonly pageHeaders: HeaderList;
  readonly cookieNames: GatewayCookieNames;
  /** Origins of all routes: the only places `rd` and a form's Origin may point at. */
  readonly routeOrigins: ReadonlySet<string>;
  /** express-session for the current cookie settings. */
  readonly sessionMiddleware: RequestHandler;
}

export interface SignInRoutesDeps {
  readonly settings: () => SignInSettings;
  readonly codes: SignInCodeService;
  readonly notifier: () => Notifier;
  readonly secrets: () => readonly string[];
  /** The invitations file, for `allow: invited` (absent: nobody is invited). */
  readonly invitations?: () => InvitationCheck;
  /** Where sign-ins are recorded for the admin API (absent in tests that do not need it). */
  readonly directory?: Pick<SessionDirectory, 'recordSignIn'>;
  /** This process ended or replaced session `id` (drops it from the session cache). */
  readonly onSessionEnded: (id: string) => void;
  readonly logger: Logger;
  readonly clock?: () => number;
}

type SessionWithData = Request['session'] & Partial<SignedInSessionData>;

const CSRF_COOKIE_MAX_AGE_SECONDS = 2 * 60 * 60;

function contextOf(req: Request): RequestContext {
  const context = requestContextOf(req);
  if (!context) throw new Error('sign-in page reached without a request context');
  return context;
}

function emailDomain(email: string): string {
  return email.slice(email.indexOf('@') + 1);
}

export function createSignInRoutes(deps: SignInRoutesDeps): Router {
  const router = express.Router();
  const now = deps.clock ?? Date.now;
  const parseForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });
  const withSession: RequestHandler = (req, res, next) => deps.settings().sessionMiddleware(req, res, next);

  function sendPage(res: Response, status: number, html: string, extraHeaders: Record<string, string> = {}): void {
    applyHeaders(res, deps.settings().pageHeaders);
    res.setHeader('cache-control', 'no-store');
    for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
    res.status(status).type('html').send(html);
  }

  function setGatewayCookie(req: Request, res: Response, name: string, value: string, maxAgeSeconds: number): void {
    const { config } = deps.settings();
    res.append(
      'set-cookie',
      serializeCookie(name, value, {
        maxAgeSeconds,
        httpOnly: true,
        secure: cookieIsSecure(config.session.cookie, contextOf(req).protocol) || name.startsWith('__Host-'),
        sameSite: config.session.cookie.same_site,
        path: '/',
      }),
    );
  }

  /** The form context, setting a CSRF cookie when the browser has none. */
  function formContext(req: Request, res: Response, rd: unknown): FormContext {
    const settings = deps.settings();
    let csrfCookie = readCookie(req.headers.cookie, settings.cookieNames.csrf);
    if (!csrfCookie || csrfCookie.length > 64) {
      csrfCookie = newCsrfCookieValue();
      setGatewayCookie(req, res, settings.cookieNames.csrf, csrfCookie, CSRF_COOKIE_MAX_AGE_SECONDS);
    }
    return {
      branding: settings.config.branding,
      csrfToken: csrfTokenFor(csrfCookie, deps.secrets()[0]!),
      returnTo: safeRedirectTarget(rd, settings.routeOrigins),
    };
  }

  /** Cross-site POSTs (login CSRF, forced sign-out of a code) are refused before anything else. */
  const rejectForgedPost: RequestHandler = (req, res, next) => {
    const settings = deps.settings();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const csrfCookie = readCookie(req.headers.cookie, settings.cookieNames.csrf);
    if (!requestOriginIsAllowed(req, settings.routeOrigins) || !csrfTokenIsValid(csrfCookie, body.csrf, deps.secrets())) {
      contextOf(req).outcome = 'csrf rejected';
      deps.logger.warn({ event: 'csrf.rejected', req_id: contextOf(req).requestId, path: req.path });
      const returnTo = safeRedirectTarget(body.rd, settings.routeOrigins);
      return sendPage(res, 403, renderFormRejectedPage(settings.config.branding, returnTo));
    }
    next();
  };

  router.get('/.gatehouse/login', (req, res) => {
    const form = formContext(req, res, req.query.rd);
    sendPage(res, 200, renderLoginPage(form));
  });

  router.post('/.gatehouse/login', parseForm, rejectForgedPost, async (req, res) => {
    const settings = deps.settings();
    const { config } = settings;
    const body = req.body as Record<string, unknown>;
    const context = contextOf(req);
    const form = formContext(req, res, body.rd);
    // A repeated field (email=a&email=b) could smuggle a second recipient past validation.
    if (Array.isArray(body.email)) {
      return sendPage(res, 400, renderLoginPage(form, { error: 'Enter a single email address.' }));
    }
    const normalized = normalizeEmailAddress(typeof body.email === 'string' ? body.email : '');
    if (!normalized.ok) {
      const shown = typeof body.email === 'string' ? body.email.slice(0, 254) : '';
      return sendPage(res, 400, renderLoginPage(form, { email: shown, error: `That email address ${normalized.reason}.` }));
    }
    const email = normalized.email;
    const allowed = mayUseSomeRoute(email, config, deps.invitations?.());
    const existingFlow = readCookie(req.headers.cookie, settings.cookieNames.flow);
    const outcome = await deps.codes.requestCode({
      email,
      allowed,
      clientAddress: context.clientAddress,
      flowId: existingFlow && /^[A-Za-z0-9_-]{16,64}$/.test(existingFlow) ? existingFlow : undefined,
    });
    deps.logger.info({ event: 'otp.requested', req_id: context.requestId, email, outcome: outcome.kind, client: context.clientAddress });
    const ttlMinutes = Math.round(config.otp.ttl / 60_000);

    if (outcome.kind === 'rate_limited') {
      context.outcome = `rate limited (${outcome.limit})`;
      if (outcome.limit === 'locked') deps.logger.info({ event: 'otp.locked', req_id: context.requestId, email });
      return sendPage(res, 429, renderTooManyRequestsPage(config.branding, { retryAfterSeconds: outcome.retryAfterSeconds, returnTo: form.returnTo }), {
        'retry-after': String(outcome.retryAfterSeconds),
      });
    }
    if (outcome.kind === 'cooldown') {
      return sendPage(
        res,
        200,
        renderCodePage(form, {
          email,
          digits: config.otp.digits,
          expiresInMinutes: ttlMinutes,
          notice: `A code was sent moments ago. You can ask for a new one in ${outcome.retryAfterSeconds} seconds.`,
        }),
      );
    }
    setGatewayCookie(req, res, settings.cookieNames.flow, outcome.flowId, Math.ceil(config.otp.ttl / 1000));
    // Decide and send the answer first; mail afterwards, so timing says nothing about the address.
    res.once('finish', () => {
      if (!allowed) {
        deps.logger.info({ event: 'otp.not_allowed', req_id: context.requestId, email });
        return;
      }
      const signInUrl = `${context.externalOrigin}/.gatehouse/login?rd=${encodeURIComponent(form.returnTo)}`;
      void deps
        .notifier()
        .sendSignInCode({
          to: email,
          code: outcome.code,
          siteName: config.branding.product_name,
          signInUrl,
          expiresAt: new Date(outcome.expiresAt),
          requestId: context.requestId,
        })
        .then(() => deps.logger.info({ event: 'otp.sent', req_id: context.requestId, email_domain: emailDomain(email) }));
    });
    sendPage(res, 200, renderCodePage(form, { email, digits: config.otp.digits, expiresInMinutes: ttlMinutes }));
  });

  router.post('/.gatehouse/verify', parseForm, rejectForgedPost, withSession, async (req, res) => {
    const settings = deps.settings();
    const { config } = settings;
    const body = req.body as Record<string, unknown>;
    const context = contextOf(req);
    const form = formContext(req, res, body.rd);
    const flowId = readCookie(req.headers.cookie, settings.cookieNames.flow);
    const typedCode = typeof body.code === 'string' ? body.code : '';
    const expired = () =>
      sendPage(res, 400, renderLoginPage(form, { notice: 'Your code has expired or was already used. Enter your address to get a new one.' }));
    if (!flowId || !/^[A-Za-z0-9_-]{16,64}$/.test(flowId)) return expired();

    const outcome = await deps.codes.checkCode({ flowId, typedCode });
    const ttlMinutes = Math.round(config.otp.ttl / 60_000);
    switch (outcome.kind) {
      case 'malformed': {
        const email = (await deps.codes.pendingEmail(flowId)) ?? '';
        return sendPage(
          res,
          400,
          renderCodePage(form, { email, digits: config.otp.digits, expiresInMinutes: ttlMinutes, error: `Enter the ${config.otp.digits}-digit code from the email.` }),
        );
      }
      case 'no_pending_code':
        return expired();
      case 'locked':
        context.outcome = 'locked';
        return sendPage(res, 429, renderTooManyRequestsPage(config.branding, { retryAfterSeconds: outcome.retryAfterSeconds, returnTo: form.returnTo }), {
          'retry-after': String(outcome.retryAfterSeconds),
        });
      case 'wrong_code': {
        deps.logger.info({ event: 'otp.failed', req_id: context.requestId, email: outcome.email, client: context.clientAddress });
        if (outcome.locked) deps.logger.info({ event: 'otp.locked', req_id: context.requestId, email: outcome.email });
        if (outcome.attemptsLeft === 0) {
          return sendPage(res, 401, renderLoginPage(form, { email: outcome.email, error: 'That code was not right, and it can no longer be used. Ask for a new one.' }));
        }
        return sendPage(
          res,
          401,
          renderCodePage(form, {
            email: outcome.email,
            digits: config.otp.digits,
            expiresInMinutes: ttlMinutes,
            error: `That code is not right. ${outcome.attemptsLeft} attempt${outcome.attemptsLeft === 1 ? '' : 's'} left.`,
          }),
        );
      }
      case 'signed_in':
        break;
    }
    if (!req.session) {
      // express-session found no usable store: fail closed.
      return sendPage(res, 503, renderLoginPage(form, { error: 'Sign-in is unavailable right now. Please try again in a moment.' }));
    }
    // Session fixation: a new id at sign-in, so an id planted before sign-in is worth nothing.
    const replacedId = req.sessionID;
    req.session.regenerate((regenerateError) => {
      deps.onSessionEnded(replacedId);
      if (regenerateError) {
        deps.logger.error({ event: 'session.save_failed', req_id: context.requestId, error: String(regenerateError) });
        return sendPage(res, 503, renderLoginPage(form, { error: 'Sign-in is unavailable right now. Please try again in a moment.' }));
      }
      const session = req.session as SessionWithData;
      const signedInAt = now();
      Object.assign(session, { email: outcome.email, signedInAt, lastSeenAt: signedInAt });
      session.cookie.maxAge = config.session.lifetime;
      session.save((saveError) => {
        if (saveError) {
          deps.logger.error({ event: 'session.save_failed', req_id: context.requestId, error: String(saveError) });
          return sendPage(res, 503, renderLoginPage(form, { error: 'Sign-in is unavailable right now. Please try again in a moment.' }));
        }
        deps.logger.info({ event: 'session.started', req_id: context.requestId, email: outcome.email, client: context.clientAddress });
        // For the admin API and `gatehouse sessions`; a failure here must not undo the sign-in.
        void deps.directory
          ?.recordSignIn(req.sessionID, {
            email: outcome.email,
            signedInAt,
            expiresAt: signedInAt + config.session.lifetime,
            clientAddress: context.clientAddress,
            userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
          })
          .catch((error: unknown) => deps.logger.warn({ event: 'session.index_failed', req_id: context.requestId, error: String(error) }));
        setGatewayCookie(req, res, settings.cookieNames.flow, '', 0);
        res.setHeader('cache-control', 'no-store');
        res.redirect(303, form.returnTo);
      });
    });
  });

  const logout: RequestHandler = (req, res) => {
    const settings = deps.settings();
    const context = contextOf(req);
    const returnTo = safeRedirectTarget(req.query.rd, settings.routeOrigins);
    const finish = () => {
      res.clearCookie(settings.cookieNames.session, { path: '/', domain: settings.config.session.cookie.domain || undefined });
      sendPage(res, 200, renderSignedOutPage(settings.config.branding, returnTo));
    };
    const session = req.session as SessionWithData | undefined;
    if (!session?.email) return finish();
    const email = session.email;
    const endedId = req.sessionID;
    session.destroy((error) => {
      deps.onSessionEnded(endedId);
      if (error) {
        deps.logger.error({ event: 'session.end_failed', req_id: context.requestId, error: String(error) });
        // Never claim a sign-out that did not happen: the session may still be alive in the store.
        return sendErrorResponse(req, res, 'store_unavailable', { requestId: context.requestId, branding: settings.config.branding, pageHeaders: settings.pageHeaders });
      }
      deps.logger.info({ event: 'session.ended', req_id: context.requestId, email, reason: 'logout' });
      finish();
    });
  };
  router.get('/.gatehouse/logout', withSession, logout);
  router.post('/.gatehouse/logout', withSession, logout);

  return router;
}
