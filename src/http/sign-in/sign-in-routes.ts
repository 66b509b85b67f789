/**
 * The sign-in URLs (SPEC section 3): email form, code request, code page, code check,
 * logout. Every POST answers with a redirect (post/redirect/get): a reload never sends
 * another mail or guess, and Back never lands on a form the browser must re-send. The code
 * page shows where the browser's sign-in stands, read from the store each time.
 *
 * The order of checks on every POST: fetch metadata and Origin, CSRF token, then the form.
 *
 * No enumeration: an allowed and a not-allowed address go through the same steps, get the
 * same pages, status and headers, and the mail is sent after the response is decided.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from '../../log/logger.js';
import { appNameOf, type GatewayConfig } from '../../config/schema.js';
import { signInCodePlaceOf, type Notifier, type SignInCodeMail, type SignInCodePlace } from '../../mail/notifier.js';
import { FLOW_MEMORY_MS, type CodeRequestOutcome, type SignInCodeService } from '../../otp/sign-in-codes.js';
import { normalizeEmailAddress } from '../../config/values.js';
import { mayUseSomeRoute, type InvitationCheck } from '../../policy/access-policy.js';
import { readCookie, serializeCookie } from '../../lib/cookies.js';
import { applyHeaders, type HeaderList } from '../security-headers.js';
import { pageLocaleFor, sendErrorResponse } from '../pages.js';
import { requestContextOf, type RequestContext } from '../request-context.js';
import { cookieIsSecure, type GatewayCookieNames } from '../../session/session-cookies.js';
import { signSessionId } from '../../session/signed-cookie-value.js';
import type { Sessions } from '../../session/sessions.js';
import type { ResolvedSession } from '../../session/session-resolver.js';
import type { SessionDirectory } from '../../session/session-directory.js';
import type { RouteTable } from '../../routes/route-table.js';
import type { RouteRuntime } from '../../proxy/route-runtime.js';
import type { RequestAuthorizer } from '../authorize-request.js';
import { csrfTokenFor, csrfTokenIsValid, newCsrfCookieValue, requestOriginIsAllowed } from './csrf.js';
import { safeRedirectTarget } from './redirect-target.js';
import { routeForReturnTo } from './route-for-return-to.js';
import { mountGuestPage } from '../guest/guest-page-routes.js';
import { mountPasskeyRoutes } from '../passkeys/passkey-routes.js';
import type { PasskeyStore } from '../../passkeys/passkey-store.js';
import type { Challenges } from '../../passkeys/challenges.js';
import {
  loginHref,
  renderCodePage,
  renderFormRejectedPage,
  renderLockedPage,
  renderLoginPage,
  renderSignedInPage,
  renderSignedOutPage,
  renderSignInBusyPage,
  renderTooManyRequestsPage,
  type SignInPage,
} from './sign-in-pages.js';

/** What the sign-in pages read from the current config (it changes on reload). */
export interface SignInSettings {
  readonly config: GatewayConfig;
  readonly pageHeaders: HeaderList;
  readonly cookieNames: GatewayCookieNames;
  /** Origins of all routes: the only places `rd` and a form's Origin may point at. */
  readonly routeOrigins: ReadonlySet<string>;
  /** To name the app `rd` points at, and ask whether the guest is signed in for it. */
  readonly routeTable: RouteTable;
  readonly routes: readonly RouteRuntime[];
}

export interface SignInRoutesDeps {
  readonly settings: () => SignInSettings;
  readonly codes: SignInCodeService;
  readonly notifier: () => Notifier;
  readonly secrets: () => readonly string[];
  /** The proxy's own admission decision: "signed in for this app?" is answered exactly as there. */
  readonly access: RequestAuthorizer;
  /** The session owner: sign-in creates a session, logout ends one. */
  readonly sessions: Pick<Sessions, 'create' | 'read' | 'end'>;
  /** The session id a Cookie header names with a valid signature (the resolver's check). */
  readonly sessionIdOf: (cookieHeader: string | undefined) => string | undefined;
  /** The resolver's whole answer for a Cookie header (the guest's own page). */
  readonly resolveSession: (cookieHeader: string | undefined) => Promise<ResolvedSession>;
  /** The invitations file, for `allow: invited` (absent: nobody is invited). */
  readonly invitations?: () => InvitationCheck;
  /** Where sign-ins are recorded (admin API), and the guest's page finds their other sessions. */
  readonly directory: Pick<SessionDirectory, 'recordSignIn' | 'list' | 'revoke'>;
  /** Guests' passkeys, and the WebAuthn challenges of their ceremonies. */
  readonly passkeys: PasskeyStore;
  readonly challenges: Challenges;
  /** This process ended or replaced session `id` (drops it from the session cache). */
  readonly onSessionEnded: (id: string) => void;
  readonly logger: Logger;
  readonly clock?: () => number;
}

/** What a new session is: whose, since when the lifetime counts, and how the guest proved it. */
export interface SessionStart {
  readonly email: string;
  readonly signedInAt: number;
  readonly amr: readonly string[];
}

const CSRF_COOKIE_MAX_AGE_SECONDS = 2 * 60 * 60;
const FLOW_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** Retry-After of the "too many sign-ins right now" page: a full outbox drains within about a minute. */
export const OUTBOX_FULL_RETRY_AFTER_SECONDS = 60;

/**
 * How long a refused code request (over a limit, or the outbox full) waits for its answer.
 * A flood is a client that asks again as soon as it is answered: answered at once, a few
 * dozen connections kept the gateway's one core busy refusing them (about half a
 * millisecond each), and signed-in guests' requests waited behind them (0.06x their quiet
 * throughput, bench/flood.ts). Held for a second, each connection asks at most once a second.
 * A guest who is refused waits a second longer for the page that says so.
 */
const REFUSAL_PAUSE_MS = 1000;

function contextOf(req: Request): RequestContext {
  const context = requestContextOf(req);
  if (!context) throw new Error('sign-in page reached without a request context');
  return context;
}

/**
 * Runs `work` once the answer is out, and its connection too when it closes: the mail of an
 * allowed address costs CPU that a refused one does not, and done as the response finishes it
 * delayed the connection's FIN measurably (address enumeration by timing). It runs exactly
 * once, also when the client goes away before the answer is finished: an outbox place must
 * always end.
 */
function afterTheAnswer(res: Response, work: () => void): void {
  let done = false;
  const runOnce = () => {
    if (done) return;
    done = true;
    setImmediate(work);
  };
  const socket = res.socket;
  if (!socket || socket.destroyed) return runOnce();
  if (!res.shouldKeepAlive) socket.once('close', runOnce);
  else {
    res.once('finish', runOnce);
    // A response cut short never finishes; its 'close' still comes.
    res.once('close', runOnce);
  }
}

/**
 * What happens to a code request's outbox place once the answer is out: the code is mailed
 * to an allowed address; a not-allowed one keeps its place in line as long as a mail would
 * and gets nothing. Built outside the route handler on purpose: the closure holds the mail's
 * few fields, not the request and response (a waiting mail used to keep both alive, about
 * 20 kB a mail under a flood).
 */
function endPlaceAfterTheAnswer(place: SignInCodePlace, mail: SignInCodeMail, allowed: boolean, logger: Logger): () => void {
  return () => {
    if (!allowed) {
      logger.info({ event: 'otp.not_allowed', req_id: mail.requestId, email: mail.to });
      place.sendNothing(mail.expiresAt);
      return;
    }
    void place.send(mail).then((delivery) => {
      // Only a mail the server took is "sent": a failed one is logged as mail.failed.
      if (delivery === 'sent') logger.info({ event: 'otp.sent', req_id: mail.requestId, email_domain: emailDomain(mail.to) });
    });
  };
}

function emailDomain(email: string): string {
  return email.slice(email.indexOf('@') + 1);
}

/** The code page URL, with what the last POST wants it to say. */
function codePageHref(returnTo: string, extra: { error?: 'wrong' | 'format'; notice?: 'resent' | 'too_soon' } = {}): string {
  let href = `/.gatehouse/code?rd=${encodeURIComponent(returnTo)}`;
  if (extra.error) href += `&error=${extra.error}`;
  if (extra.notice) href += `&notice=${extra.notice}`;
  return href;
}

/** A query value only when it is one of `allowed` (nothing else is ever echoed). */
function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return allowed.find((candidate) => candidate === value);
}

export function createSignInRoutes(deps: SignInRoutesDeps): Router {
  const router = express.Router();
  const now = deps.clock ?? Date.now;
  const parseForm = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 });

  function sendPage(res: Response, status: number, html: string, extraHeaders: Record<string, string> = {}): void {
    applyHeaders(res, deps.settings().pageHeaders);
    res.setHeader('cache-control', 'no-store');
    for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
    res.status(status).type('html').send(html);
  }

  /** Sends a refusal page after REFUSAL_PAUSE_MS, unless the client has gone by then. */
  function refuseAfterPause(res: Response, status: number, html: string, headers: Record<string, string>): void {
    setTimeout(() => {
      if (!res.destroyed) sendPage(res, status, html, headers);
    }, REFUSAL_PAUSE_MS);
  }

  /** 303 to a page of ours: the answer to every POST that does not fail outright. */
  function seeOther(res: Response, location: string): void {
    res.setHeader('cache-control', 'no-store');
    res.redirect(303, location);
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

  /**
   * The session cookie: the signed id, expiring with the session, `HttpOnly`, `SameSite` and
   * `Secure` as configured; `undefined` clears it.
   */
  function setSessionCookie(req: Request, res: Response, id: string | undefined): void {
    const { config, cookieNames } = deps.settings();
    const value = id === undefined ? '' : encodeURIComponent(signSessionId(id, deps.secrets()[0]!));
    res.append(
      'set-cookie',
      serializeCookie(cookieNames.session, value, {
        maxAgeSeconds: id === undefined ? 0 : Math.floor(config.session.lifetime / 1000),
        httpOnly: true,
        secure: cookieIsSecure(config.session.cookie, contextOf(req).protocol) || cookieNames.session.startsWith('__Host-'),
        sameSite: config.session.cookie.same_site,
        path: '/',
        domain: config.session.cookie.domain || undefined,
      }),
    );
  }

  /** Everything a sign-in page needs, setting a CSRF cookie when the browser has none. */
  function pageFor(req: Request, res: Response, rd: unknown): SignInPage & { route: RouteRuntime | undefined } {
    const settings = deps.settings();
    let csrfCookie = readCookie(req.headers.cookie, settings.cookieNames.csrf);
    if (!csrfCookie || csrfCookie.length > 64) {
      csrfCookie = newCsrfCookieValue();
      setGatewayCookie(req, res, settings.cookieNames.csrf, csrfCookie, CSRF_COOKIE_MAX_AGE_SECONDS);
    }
    const returnTo = safeRedirectTarget(rd, settings.routeOrigins);
    const route = routeForReturnTo(returnTo, contextOf(req).externalOrigin, settings);
    const locale = pageLocaleFor(req, settings.config.branding);
    res.setHeader('content-language', locale.language);
    return {
      locale,
      appName: route ? appNameOf(route.config) : settings.config.branding.product_name,
      csrfToken: csrfTokenFor(csrfCookie, deps.secrets()[0]!),
      returnTo,
      route,
    };
  }

  /** The address this browser is signed in as for the app `rd` points at, exactly as the proxy would decide. */
  async function signedInFor(req: Request, route: RouteRuntime | undefined): Promise<string | undefined> {
    if (!route) return undefined;
    const access = await deps.access.authorize(req.headers.cookie, route);
    return access.kind === 'allowed' ? access.identity.email : undefined;
  }

  function flowIdOf(req: Request): string | undefined {
    const flowId = readCookie(req.headers.cookie, deps.settings().cookieNames.flow);
    return flowId && FLOW_ID.test(flowId) ? flowId : undefined;
  }

  /** Cross-site POSTs (login CSRF, forced sign-out of a code) are refused before anything else. */
  const rejectForgedPost: RequestHandler = (req, res, next) => {
    const settings = deps.settings();
    const body = (req.body ?? {}) as Record<string, unknown>;
    const csrfCookie = readCookie(req.headers.cookie, settings.cookieNames.csrf);
    if (!requestOriginIsAllowed(req, settings.routeOrigins) || !csrfTokenIsValid(csrfCookie, body.csrf, deps.secrets())) {
      const context = contextOf(req);
      context.outcome = 'csrf rejected';
      deps.logger.warn({ event: 'csrf.rejected', req_id: context.requestId, path: req.path });
      const locale = pageLocaleFor(req, settings.config.branding);
      return sendPage(res, 403, renderFormRejectedPage(locale, safeRedirectTarget(body.rd, settings.routeOrigins), context.requestId));
    }
    next();
  };

  /**
   * Starts a session after a sign-in (code or passkey) and sets its cookie; false when the
   * store failed, and the 503 answer is already sent. The caller then answers the browser.
   */
  async function startSession(req: Request, res: Response, sign: SessionStart): Promise<boolean> {
    const settings = deps.settings();
    const { config } = settings;
    const context = contextOf(req);
    let id: string;
    try {
      // Session fixation: a new id at sign-in, and a session the browser brought (planted or
      // its own) is ended first, so an id known before sign-in is worth nothing after it.
      const brought = deps.sessionIdOf(req.headers.cookie);
      if (brought !== undefined) {
        await deps.sessions.end(brought);
        deps.onSessionEnded(brought);
      }
      id = await deps.sessions.create(sign);
    } catch (error) {
      deps.logger.error({ event: 'session.save_failed', req_id: context.requestId, error: String(error) });
      sendErrorResponse(req, res, 'store_unavailable', { requestId: context.requestId, branding: config.branding, pageHeaders: settings.pageHeaders });
      return false;
    }
    setSessionCookie(req, res, id);
    deps.logger.info({ event: 'session.started', req_id: context.requestId, email: sign.email, amr: sign.amr, client: context.clientAddress });
    // For the admin API and `gatehouse sessions`; a failure here must not undo the sign-in.
    void deps.directory
      .recordSignIn(id, {
        email: sign.email,
        signedInAt: sign.signedInAt,
        expiresAt: sign.signedInAt + config.session.lifetime,
        clientAddress: context.clientAddress,
        userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
      })
      .catch((error: unknown) => deps.logger.warn({ event: 'session.index_failed', req_id: context.requestId, error: String(error) }));
    return true;
  }

  router.get('/.gatehouse/login', async (req, res) => {
    const page = pageFor(req, res, req.query.rd);
    const email = await signedInFor(req, page.route);
    if (email) return sendPage(res, 200, renderSignedInPage(page, email));
    sendPage(res, 200, renderLoginPage(page));
  });

  router.post('/.gatehouse/login', parseForm, rejectForgedPost, async (req, res) => {
    const settings = deps.settings();
    const { config } = settings;
    const body = req.body as Record<string, unknown>;
    const context = contextOf(req);
    const page = pageFor(req, res, body.rd);
    // A repeated field (email=a&email=b) could smuggle a second recipient past validation.
    if (Array.isArray(body.email)) return sendPage(res, 400, renderLoginPage(page, { problem: 'repeated' }));
    const typed = typeof body.email === 'string' ? body.email : '';
    const normalized = normalizeEmailAddress(typed);
    if (!normalized.ok) return sendPage(res, 400, renderLoginPage(page, { email: typed.slice(0, 254), problem: normalized.problem }));
    const email = normalized.email;
    const allowed = mayUseSomeRoute(email, config, deps.invitations?.());
    // Mail flood: the outbox has room for so many codes; past that every address (allowed or
    // not: no enumeration) is told to come back later, before any limit or code is spent.
    const place = signInCodePlaceOf(deps.notifier());
    if (!place) {
      deps.logger.info({ event: 'otp.requested', req_id: context.requestId, email, outcome: 'outbox_full', client: context.clientAddress });
      context.outcome = 'mail outbox full';
      return refuseAfterPause(res, 503, renderSignInBusyPage(page, OUTBOX_FULL_RETRY_AFTER_SECONDS, context.requestId), { 'retry-after': String(OUTBOX_FULL_RETRY_AFTER_SECONDS) });
    }
    let outcome: CodeRequestOutcome;
    try {
      outcome = await deps.codes.requestCode({ email, allowed, clientAddress: context.clientAddress, flowId: flowIdOf(req) });
    } catch (error) {
      place.release();
      throw error;
    }
    deps.logger.info({ event: 'otp.requested', req_id: context.requestId, email, outcome: outcome.kind, client: context.clientAddress });
    if (outcome.kind !== 'issued') place.release();

    if (outcome.kind === 'rate_limited') {
      context.outcome = `rate limited (${outcome.limit})`;
      const retryAfter = { 'retry-after': String(outcome.retryAfterSeconds) };
      const lockedForMs = outcome.retryAfterSeconds * 1000;
      if (outcome.limit === 'locked') {
        deps.logger.info({ event: 'otp.locked', req_id: context.requestId, email });
        return refuseAfterPause(res, 429, renderLockedPage(page, { email, lockedForMs, requestId: context.requestId }), retryAfter);
      }
      if (outcome.limit === 'client_locked') return refuseAfterPause(res, 429, renderLockedPage(page, { lockedForMs, requestId: context.requestId }), retryAfter);
      return refuseAfterPause(res, 429, renderTooManyRequestsPage(page, outcome.retryAfterSeconds, context.requestId), retryAfter);
    }
    const flowCookieSeconds = Math.ceil((config.otp.ttl + FLOW_MEMORY_MS) / 1000);
    setGatewayCookie(req, res, settings.cookieNames.flow, outcome.flowId, flowCookieSeconds);
    if (outcome.kind === 'cooldown') return seeOther(res, codePageHref(page.returnTo, { notice: 'too_soon' }));

    // Decide and send the answer first; mail afterwards, so timing says nothing about the address.
    const mail: SignInCodeMail = {
      to: email,
      code: outcome.code,
      language: page.locale.language,
      appName: page.appName,
      siteOrigin: context.externalOrigin,
      codePageUrl: context.externalOrigin + codePageHref(page.returnTo),
      requestedAt: new Date(now()),
      expiresAt: new Date(outcome.expiresAt),
      // The mail shows only names from a fixed list; a waiting mail need not hold 16 kB of header.
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
      clientAddress: context.clientAddress,
      requestId: context.requestId,
    };
    afterTheAnswer(res, endPlaceAfterTheAnswer(place, mail, allowed, deps.logger));
    seeOther(res, codePageHref(page.returnTo, body.resend === '1' ? { notice: 'resent' } : {}));
  });

  router.get('/.gatehouse/code', async (req, res) => {
    const { config } = deps.settings();
    const context = contextOf(req);
    const page = pageFor(req, res, req.query.rd);
    // Back after signing in, or a second tab: say so instead of showing a stale form.
    const signedInAs = await signedInFor(req, page.route);
    if (signedInAs) return sendPage(res, 200, renderSignedInPage(page, signedInAs));
    const flowId = flowIdOf(req);
    const status = flowId === undefined ? undefined : await deps.codes.describeSignIn(flowId, context.clientAddress);
    // The mail's link opened in another browser (or a sign-in long forgotten): start here.
    if (!status) return sendPage(res, 200, renderLoginPage(page, { notice: page.locale.t.login.otherBrowser }));
    const html = renderCodePage(page, {
      status,
      digits: config.otp.digits,
      ttlMs: config.otp.ttl,
      now: now(),
      error: oneOf(req.query.error, ['wrong', 'format'] as const),
      notice: oneOf(req.query.notice, ['resent', 'too_soon'] as const),
      requestId: context.requestId,
    });
    if (status.state === 'locked' || status.state === 'client_locked') {
      context.outcome = 'locked';
      return sendPage(res, 429, html, { 'retry-after': String(Math.max(1, Math.ceil(status.lockedForMs / 1000))) });
    }
    sendPage(res, 200, html);
  });

  router.post('/.gatehouse/verify', parseForm, rejectForgedPost, async (req, res) => {
    const settings = deps.settings();
    const body = req.body as Record<string, unknown>;
    const context = contextOf(req);
    const returnTo = safeRedirectTarget(body.rd, settings.routeOrigins);
    const flowId = flowIdOf(req);
    if (!flowId) return seeOther(res, codePageHref(returnTo));

    const outcome = await deps.codes.checkCode({ flowId, typedCode: typeof body.code === 'string' ? body.code : '', clientAddress: context.clientAddress });
    switch (outcome.kind) {
      case 'malformed':
        return seeOther(res, codePageHref(returnTo, { error: 'format' }));
      case 'no_sign_in':
      case 'not_pending':
        return seeOther(res, codePageHref(returnTo));
      case 'locked':
      case 'client_locked':
        context.outcome = outcome.kind === 'locked' ? 'locked' : 'client locked';
        return seeOther(res, codePageHref(returnTo));
      case 'wrong_code':
        deps.logger.info({ event: 'otp.failed', req_id: context.requestId, email: outcome.email, client: context.clientAddress });
        if (outcome.locked) deps.logger.info({ event: 'otp.locked', req_id: context.requestId, email: outcome.email });
        // With tries left the code page says "not right"; otherwise it shows the dead or locked code.
        return seeOther(res, codePageHref(returnTo, outcome.attemptsLeft > 0 ? { error: 'wrong' } : {}));
      case 'signed_in':
        break;
    }
    if (await startSession(req, res, { email: outcome.email, signedInAt: now(), amr: ['otp'] })) seeOther(res, returnTo);
  });

  const logout: RequestHandler = async (req, res) => {
    const settings = deps.settings();
    const context = contextOf(req);
    const rd = req.method === 'POST' ? (req.body as Record<string, unknown> | undefined)?.rd : req.query.rd;
    const returnTo = safeRedirectTarget(rd, settings.routeOrigins);
    const id = deps.sessionIdOf(req.headers.cookie);
    if (id !== undefined) {
      try {
        const session = await deps.sessions.read(id);
        await deps.sessions.end(id);
        deps.onSessionEnded(id);
        if (session) deps.logger.info({ event: 'session.ended', req_id: context.requestId, email: session.email, reason: 'logout' });
      } catch (error) {
        deps.logger.error({ event: 'session.end_failed', req_id: context.requestId, error: String(error) });
        // Never claim a sign-out that did not happen: the session may still be alive in the store.
        return sendErrorResponse(req, res, 'store_unavailable', { requestId: context.requestId, branding: settings.config.branding, pageHeaders: settings.pageHeaders });
      }
    }
    setSessionCookie(req, res, undefined);
    // "Use another address": straight to the email form.
    if (req.query.next === 'login') return seeOther(res, loginHref(returnTo));
    const route = routeForReturnTo(returnTo, context.externalOrigin, settings);
    const locale = pageLocaleFor(req, settings.config.branding);
    sendPage(res, 200, renderSignedOutPage(locale, route ? appNameOf(route.config) : settings.config.branding.product_name, returnTo));
  };
  router.get('/.gatehouse/logout', logout);
  router.post('/.gatehouse/logout', parseForm, rejectForgedPost, logout);

  const storeUnavailable = (req: Request, res: Response, error: unknown): void => {
    const settings = deps.settings();
    const context = contextOf(req);
    deps.logger.warn({ event: 'store.request_failed', req_id: context.requestId, error: String(error) });
    sendErrorResponse(req, res, 'store_unavailable', { requestId: context.requestId, branding: settings.config.branding, pageHeaders: settings.pageHeaders });
  };

  mountGuestPage(
    router,
    { parseForm, rejectForgedPost, sendPage, seeOther, pageFor: (req, res) => pageFor(req, res, undefined), storeUnavailable },
    { resolveSession: deps.resolveSession, directory: deps.directory, passkeys: deps.passkeys, onSessionEnded: deps.onSessionEnded, logger: deps.logger, clock: now },
  );
  mountPasskeyRoutes(
    router,
    { parseForm, rejectForgedPost, sendPage, seeOther, pageFor, returnToOf: (rd) => safeRedirectTarget(rd, deps.settings().routeOrigins), startSession, storeUnavailable },
    {
      passkeys: deps.passkeys,
      challenges: deps.challenges,
      resolveSession: deps.resolveSession,
      config: () => deps.settings().config,
      invitations: deps.invitations,
      logger: deps.logger,
      clock: now,
    },
  );

  return router;
}
