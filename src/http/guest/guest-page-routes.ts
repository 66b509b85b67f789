/**
 * `GET /.gatehouse/` (the guest's own page, with their passkeys) and
 * `POST /.gatehouse/sessions/end-others` ("sign out everywhere else"). The session in the cookie says who the guest is; the session
 * directory says where else that address is signed in. Ending the others goes through the
 * directory, which ends each through the session owner, so they end on every gateway.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from '../../log/logger.js';
import type { ResolvedSession } from '../../session/session-resolver.js';
import type { SessionDirectory, SessionSummary } from '../../session/session-directory.js';
import { approximatePlaceOf } from '../../lib/approximate-place.js';
import { requestContextOf } from '../request-context.js';
import { GUEST_PAGE_PATH, renderGuestPage, renderGuestPageSignedOut, type GuestSessionView } from './guest-page.js';
import type { PageLocale } from '../pages.js';
import type { PasskeyStore } from '../../passkeys/passkey-store.js';
import { mayAddPasskey, mayRemovePasskey } from '../passkeys/passkey-rights.js';
import type { PasskeyNotice } from '../passkeys/passkey-pages.js';

/** What the sign-in routes lend this page: their page kit, so both behave alike. */
export interface GuestPageKit {
  readonly parseForm: RequestHandler;
  /** The CSRF and Origin checks of every POST. */
  readonly rejectForgedPost: RequestHandler;
  readonly sendPage: (res: Response, status: number, html: string) => void;
  readonly seeOther: (res: Response, location: string) => void;
  /** The page's locale and a CSRF token (setting the CSRF cookie when the browser has none). */
  readonly pageFor: (req: Request, res: Response) => { locale: PageLocale; csrfToken: string };
  /** An error page for a store that does not answer. */
  readonly storeUnavailable: (req: Request, res: Response, error: unknown) => void;
}

export interface GuestPageDeps {
  /** The session resolver's answer for a Cookie header, exactly as the proxy decides. */
  readonly resolveSession: (cookieHeader: string | undefined) => Promise<ResolvedSession>;
  readonly directory: Pick<SessionDirectory, 'list' | 'revoke'>;
  readonly passkeys: Pick<PasskeyStore, 'list'>;
  readonly onSessionEnded: (id: string) => void;
  readonly logger: Logger;
  readonly clock: () => number;
}

const ENDED_OTHERS = /^(0|[1-9][0-9]{0,3})$/;
const PASSKEY_NOTICES: readonly PasskeyNotice[] = ['added', 'removed', 'not_found', 'passkey_needed'];

function viewOf(summary: SessionSummary): GuestSessionView {
  return {
    signedInAt: new Date(summary.created),
    lastUsedAt: new Date(summary.lastSeen),
    expiresAt: new Date(summary.expiresAt),
    userAgent: summary.userAgent,
    place: approximatePlaceOf(summary.clientAddress),
  };
}

export function mountGuestPage(router: Router, kit: GuestPageKit, deps: GuestPageDeps): void {
  /** The live session in the cookie, with its id; undefined when signed out. */
  async function currentSession(req: Request) {
    const resolved = await deps.resolveSession(req.headers.cookie);
    if (resolved.kind === 'unavailable') throw resolved.error;
    return resolved.kind === 'signed_in' ? resolved : undefined;
  }

  router.get(GUEST_PAGE_PATH, async (req, res) => {
    const { locale, csrfToken } = kit.pageFor(req, res);
    let content;
    try {
      const session = await currentSession(req);
      if (!session) return kit.sendPage(res, 200, renderGuestPageSignedOut(locale));
      const all = await deps.directory.list({ email: session.record.email });
      const mine = all.find((summary) => summary.id === session.id);
      const context = requestContextOf(req);
      const now = new Date(deps.clock());
      // This request is this session's latest use; the directory's time is batched.
      const current: GuestSessionView = mine
        ? { ...viewOf(mine), lastUsedAt: now }
        : {
            signedInAt: new Date(session.record.signedInAt),
            lastUsedAt: now,
            expiresAt: new Date(session.record.expiresAt),
            userAgent: String(req.headers['user-agent'] ?? ''),
            place: approximatePlaceOf(context?.clientAddress ?? ''),
          };
      const others = all
        .filter((summary) => summary.id !== session.id)
        .map(viewOf)
        .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime());
      const ended = typeof req.query.ended === 'string' && ENDED_OTHERS.test(req.query.ended) ? Number(req.query.ended) : undefined;
      const passkeys = await deps.passkeys.list({ email: session.record.email });
      const notice = PASSKEY_NOTICES.find((candidate) => candidate === req.query.passkey);
      content = {
        email: session.record.email,
        current,
        others,
        csrfToken,
        endedOthers: ended,
        passkeys: { list: passkeys, addRight: mayAddPasskey(session.record, passkeys.length, deps.clock()), mayRemove: mayRemovePasskey(session.record), notice },
      };
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
    kit.sendPage(res, 200, renderGuestPage(locale, content));
  });

  router.post('/.gatehouse/sessions/end-others', kit.parseForm, kit.rejectForgedPost, async (req, res) => {
    const context = requestContextOf(req);
    let count = 0;
    try {
      const session = await currentSession(req);
      if (!session) return kit.seeOther(res, GUEST_PAGE_PATH);
      for (const other of await deps.directory.list({ email: session.record.email })) {
        if (other.id === session.id) continue;
        const result = await deps.directory.revoke(other.id);
        deps.onSessionEnded(other.id);
        count += result.count;
      }
      if (count > 0) deps.logger.info({ event: 'session.ended', req_id: context?.requestId, email: session.record.email, reason: 'signed_out_elsewhere', count });
    } catch (error) {
      return kit.storeUnavailable(req, res, error);
    }
    kit.seeOther(res, `${GUEST_PAGE_PATH}?ended=${count}`);
  });
}
