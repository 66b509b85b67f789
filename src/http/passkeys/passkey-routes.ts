/**
 * Passkeys on the gateway's pages (SPEC section 7):
 *
 *   POST /.gatehouse/passkeys/sign-in/options  {csrf}                  → {options}
 *   POST /.gatehouse/passkeys/sign-in          {csrf, rd, response}    → {redirect} | error
 *   POST /.gatehouse/passkeys/add/options      {csrf}                  → {options} | error
 *   POST /.gatehouse/passkeys/add              {csrf, rd, name, response} → {redirect} | error
 *   POST /.gatehouse/passkeys/remove           form {csrf, id}         → 303 to the guest page
 *   GET  /.gatehouse/passkey?rd=URL            the step-up page of `require: passkey` routes
 *
 * The JSON calls are made by the gateway's own script (passkey-script.ts) from its pages; they
 * pass the same Origin and CSRF checks as every form. Challenges are stateless and used once
 * (challenges.ts); the ceremonies are @simplewebauthn/server's (webauthn.ts). The relying party
 * is the host the page was served on, so a passkey works on the host it was made on, and the
 * origin the browser signed must be exactly that page's.
 *
 * Order of checks on a passkey sign-in: the challenge is ours, for this origin, not expired
 * (no store access); the passkey exists; its signature verifies; only then is the challenge
 * marked used (a replay, on any gateway, fails here); the address may still use some route.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from '../../log/logger.js';
import type { GatewayConfig } from '../../config/schema.js';
import { mayUseSomeRoute, type InvitationCheck } from '../../policy/access-policy.js';
import { describeUserAgent } from '../../lib/user-agent.js';
import type { ResolvedSession } from '../../session/session-resolver.js';
import type { PasskeyStore } from '../../passkeys/passkey-store.js';
import type { ChallengeBinding, Challenges } from '../../passkeys/challenges.js';
import { challengeOf, credentialIdOf, optionsToAdd, optionsToSignIn, verifyAdded, verifySignIn, type Relying } from '../../passkeys/webauthn.js';
import { requestContextOf, type RequestContext } from '../request-context.js';
import { GATEWAY_ERRORS } from '../errors.js';
import { pageLocaleFor } from '../pages.js';
import type { SessionStart } from '../sign-in/sign-in-routes.js';
import type { SignInPage } from '../sign-in/sign-in-pages.js';
import { GUEST_PAGE_PATH } from '../guest/guest-page.js';
import { mayAddPasskey, mayRemovePasskey, usedPasskey } from './passkey-rights.js';
import { renderStepUpPage } from './passkey-pages.js';

/** What the sign-in routes lend the passkey routes, so that both behave alike. */
export interface PasskeyKit {
  readonly parseForm: RequestHandler;
  readonly rejectForgedPost: RequestHandler;
  readonly sendPage: (res: Response, status: number, html: string) => void;
  readonly seeOther: (res: Response, location: string) => void;
  readonly pageFor: (req: Request, res: Response, rd: unknown) => SignInPage;
  /** `rd` checked as every sign-in checks it (a route origin or a path, else `/`). */
  readonly returnToOf: (rd: unknown) => string;
  /** Starts a session (ending the one the browser brought) and sets its cookie; false after a 503. */
  readonly startSession: (req: Request, res: Response, start: SessionStart) => Promise<boolean>;
  readonly storeUnavailable: (req: Request, res: Response, error: unknown) => void;
}

export interface PasskeyRoutesDeps {
  readonly passkeys: PasskeyStore;
  readonly challenges: Challenges;
  readonly resolveSession: (cookieHeader: string | undefined) => Promise<ResolvedSession>;
  readonly config: () => GatewayConfig;
  readonly invitations?: () => InvitationCheck;
  readonly logger: Logger;
  readonly clock: () => number;
}

export const STEP_UP_PATH = '/.gatehouse/passkey';
const NAME_LIMIT = 60;
type PasskeyErrorCode = 'passkey_refused' | 'passkey_not_allowed';

function contextOf(req: Request): RequestContext {
  const context = requestContextOf(req);
  if (!context) throw new Error('passkey route reached without a request context');
  return context;
}

/** The relying party of the page: its origin, and its host name as the RP id. */
function relyingOf(req: Request, config: GatewayConfig): Relying {
  const origin = contextOf(req).externalOrigin;
  return { origin, rpId: new URL(origin).hostname, rpName: config.branding.product_name };
}

/** The name the guest typed, made printable and short; the browser's name when empty. */
function passkeyNameFrom(typed: unknown, userAgent: string | undefined): string {
  const cleaned = (typeof typed === 'string' ? typed : '').replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, NAME_LIMIT);
  if (cleaned) return cleaned;
  const { browser, system } = describeUserAgent(userAgent);
  return [browser, system].filter(Boolean).join(', ') || 'Passkey';
}

function sendJson(res: Response, status: number, value: object): void {
  res.setHeader('cache-control', 'no-store');
  res.status(status).json(value);
}

export function mountPasskeyRoutes(router: Router, kit: PasskeyKit, deps: PasskeyRoutesDeps): void {
  const parseJson = express.json({ limit: '32kb', type: 'application/json' });

  function refuse(req: Request, res: Response, code: PasskeyErrorCode, reason: string, email?: string): void {
    const context = contextOf(req);
    context.outcome = `passkey refused (${reason})`;
    deps.logger.info({ event: 'passkey.refused', req_id: context.requestId, reason, ...(email ? { email } : {}) });
    const { t } = pageLocaleFor(req, deps.config().branding);
    sendJson(res, GATEWAY_ERRORS[code].status, { error: code, reason, message: t.errors[code].message, request_id: context.requestId });
  }

  /** The live session in the cookie; undefined when signed out. Throws when the store cannot answer. */
  async function currentSession(req: Request) {
    const resolved = await deps.resolveSession(req.headers.cookie);
    if (resolved.kind === 'unavailable') throw resolved.error;
    return resolved.kind === 'signed_in' ? resolved : undefined;
  }

  const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;

  // Anyone may ask: the sign-in page asks on every view (passkey autofill). Nothing is stored.
  router.post('/.gatehouse/passkeys/sign-in/options', parseJson, kit.rejectForgedPost, async (req, res) => {
    const relying = relyingOf(req, deps.config());
    const challenge = deps.challenges.issue({ purpose: 'sign_in', origin: relying.origin });
    sendJson(res, 200, { options: await optionsToSignIn(relying, challenge) });
  });

  router.post('/.gatehouse/passkeys/sign-in', parseJson, kit.rejectForgedPost, async (req, res) => {
    const config = deps.config();
    const body = bodyOf(req);
    const context = contextOf(req);
    const relying = relyingOf(req, config);
    const binding: ChallengeBinding = { purpose: 'sign_in', origin: relying.origin };
    const challenge = challengeOf(body.response);
    // A challenge we did not issue for this page's origin: made up, expired, or from another site's page.
    if (!challenge || !deps.challenges.isGenuine(challenge.value, binding)) return refuse(req, res, 'passkey_refused', 'challenge');
    const id = credentialIdOf(body.response);
    let passkey;
    try {
      passkey = id === undefined ? undefined : await deps.passkeys.get(id);
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
    // Removed by the guest or by ops, or never added here: the browser may still hold it.
    if (!passkey) return refuse(req, res, 'passkey_refused', 'unknown_passkey');
    const verified = await verifySignIn(body.response, challenge.encoded, relying, passkey);
    if (!verified.ok) return refuse(req, res, 'passkey_refused', `not_verified: ${verified.reason}`, passkey.email);
    try {
      // One use: the same signed answer sent again (by anyone, to any gateway) is refused.
      if (!(await deps.challenges.redeem(challenge.value, binding))) return refuse(req, res, 'passkey_refused', 'replayed', passkey.email);
      // Uninvited or taken out of every route since: the passkey alone does not let them back in.
      if (!mayUseSomeRoute(passkey.email, config, deps.invitations?.())) return refuse(req, res, 'passkey_refused', 'not_allowed', passkey.email);
      const now = deps.clock();
      await deps.passkeys.recordUse(passkey, verified.value.counter, now);
      // Stepping up a code session of the same address: it keeps its sign-in time (the inbox
      // was proven then) and says both. Otherwise a passkey session of its own.
      const brought = await currentSession(req);
      const stepUp = brought !== undefined && brought.record.email === passkey.email && brought.record.amr.includes('otp');
      const start: SessionStart = stepUp
        ? { email: passkey.email, signedInAt: brought.record.signedInAt, amr: ['otp', 'passkey'] }
        : { email: passkey.email, signedInAt: now, amr: ['passkey'] };
      deps.logger.info({ event: 'passkey.used', req_id: context.requestId, email: passkey.email, passkey: passkey.id.slice(0, 12), step_up: stepUp });
      if (!(await kit.startSession(req, res, start))) return;
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
    sendJson(res, 200, { redirect: kit.returnToOf(body.rd) });
  });

  router.post('/.gatehouse/passkeys/add/options', parseJson, kit.rejectForgedPost, async (req, res) => {
    const config = deps.config();
    const relying = relyingOf(req, config);
    try {
      const session = await currentSession(req);
      if (!session) return refuse(req, res, 'passkey_not_allowed', 'signed_out');
      const existing = await deps.passkeys.list({ email: session.record.email });
      const right = mayAddPasskey(session.record, existing.length, deps.clock());
      if (right !== 'yes') return refuse(req, res, 'passkey_not_allowed', right, session.record.email);
      const challenge = deps.challenges.issue({ purpose: 'add', origin: relying.origin, sessionId: session.id });
      sendJson(res, 200, { options: await optionsToAdd(relying, session.record.email, existing, challenge) });
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
  });

  router.post('/.gatehouse/passkeys/add', parseJson, kit.rejectForgedPost, async (req, res) => {
    const config = deps.config();
    const body = bodyOf(req);
    const context = contextOf(req);
    const relying = relyingOf(req, config);
    try {
      const session = await currentSession(req);
      if (!session) return refuse(req, res, 'passkey_not_allowed', 'signed_out');
      const { email } = session.record;
      const existing = await deps.passkeys.list({ email });
      const right = mayAddPasskey(session.record, existing.length, deps.clock());
      if (right !== 'yes') return refuse(req, res, 'passkey_not_allowed', right, email);
      // Bound to this session: a challenge handed to another browser cannot add to this address.
      const binding: ChallengeBinding = { purpose: 'add', origin: relying.origin, sessionId: session.id };
      const challenge = challengeOf(body.response);
      if (!challenge || !deps.challenges.isGenuine(challenge.value, binding)) return refuse(req, res, 'passkey_refused', 'challenge', email);
      const verified = await verifyAdded(body.response, challenge.encoded, relying);
      if (!verified.ok) return refuse(req, res, 'passkey_refused', `not_verified: ${verified.reason}`, email);
      if (!(await deps.challenges.redeem(challenge.value, binding))) return refuse(req, res, 'passkey_refused', 'replayed', email);
      // A credential id is the authenticator's; one already stored (for anyone) is not taken over.
      if (await deps.passkeys.get(verified.value.id)) return refuse(req, res, 'passkey_refused', 'already_added', email);
      const now = deps.clock();
      const name = passkeyNameFrom(body.name, req.headers['user-agent']);
      await deps.passkeys.save({ ...verified.value, email, rpId: relying.rpId, name, createdAt: now, lastUsedAt: now });
      deps.logger.info({ event: 'passkey.added', req_id: context.requestId, email, passkey: verified.value.id.slice(0, 12), name });
      // Making it proved the passkey too (user verification): this browser goes on as a passkey session.
      if (!usedPasskey(session.record) && !(await kit.startSession(req, res, { email, signedInAt: session.record.signedInAt, amr: ['otp', 'passkey'] }))) return;
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
    sendJson(res, 200, { redirect: kit.returnToOf(body.rd) });
  });

  router.post('/.gatehouse/passkeys/remove', kit.parseForm, kit.rejectForgedPost, async (req, res) => {
    const context = contextOf(req);
    const id = bodyOf(req).id;
    try {
      const session = await currentSession(req);
      if (!session) return kit.seeOther(res, GUEST_PAGE_PATH);
      if (!mayRemovePasskey(session.record)) return kit.seeOther(res, `${GUEST_PAGE_PATH}?passkey=passkey_needed`);
      // Only one of the guest's own: an id of someone else's passkey removes nothing.
      const removed = typeof id === 'string' && (await deps.passkeys.remove(id, session.record.email));
      if (removed) deps.logger.info({ event: 'passkey.removed', req_id: context.requestId, email: session.record.email, passkey: id.slice(0, 12), by: 'guest' });
      kit.seeOther(res, `${GUEST_PAGE_PATH}?passkey=${removed ? 'removed' : 'not_found'}`);
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
  });

  // Step-up: a `require: passkey` route sends a code session here, with the URL it asked for.
  router.get(STEP_UP_PATH, async (req, res) => {
    const page = kit.pageFor(req, res, req.query.rd);
    try {
      const session = await currentSession(req);
      if (session && usedPasskey(session.record)) return kit.seeOther(res, page.returnTo);
      const passkeys = session ? await deps.passkeys.list({ email: session.record.email }) : [];
      const addRight = session ? mayAddPasskey(session.record, passkeys.length, deps.clock()) : 'fresh_code_needed';
      kit.sendPage(res, 200, renderStepUpPage(page, { email: session?.record.email, hasPasskey: passkeys.length > 0, addRight, stepUpUrl: `${STEP_UP_PATH}?rd=${encodeURIComponent(page.returnTo)}` }));
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
  });
}
