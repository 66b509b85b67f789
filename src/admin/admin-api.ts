/**
 * The admin API (issue 5), mounted at `/api` on the admin listener: list sessions and revoke
 * them, for the `gatehouse sessions` / `gatehouse revoke` commands and for scripts.
 *
 *   GET    /api/sessions[?email=E]   → 200 { sessions: SessionSummary[] }
 *   DELETE /api/sessions/:id         → 200 { count: 1 } | 404 session_not_found
 *   DELETE /api/sessions?email=E     → 200 { count }
 *   DELETE /api/sessions?all=true    → 200 { count }
 *   GET    /api/passkeys[?email=E]   → 200 { passkeys: PasskeySummary[] }
 *   DELETE /api/passkeys/:id         → 200 { count: 1 } | 404 passkey_not_found
 *   DELETE /api/passkeys?email=E     → 200 { count }
 *   GET    /api/keys                 → 200 { source, keys: [{kid, state, createdAt, publishedUntil}] }
 *   POST   /api/keys/rotate          → 200 the same, after the rotation | 409 keys_from_file
 *
 * Every call needs `Authorization: Bearer <admin token>`. No token configured → 403
 * `admin_api_disabled`; missing or wrong → 401 `unauthorized`. Errors are JSON
 * `{ error: code }`, never a stack; a store outage is 503 `store_unavailable`.
 * Each revocation is logged as `session.revoked`, each removed passkey as `passkey.removed`,
 * with `by: 'admin-api'` (the audit trail).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log/logger.js';
import type { Invitation } from '../invitations/invitation-file.js';
import type { RevocationResult, SessionDirectory } from '../session/session-directory.js';
import { StoreUnavailableError } from '../store/key-value-store.js';
import { KeysFromFileError, type AssertionKeys } from '../assertion/assertion-keys.js';
import type { Passkey, PasskeyStore } from '../passkeys/passkey-store.js';

/** A passkey as ops see it: whose, its name and times; never its public key. */
export interface PasskeySummary {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  /** The host it was made on (the WebAuthn relying party). */
  readonly host: string;
  readonly created: string;
  readonly lastUsed: string | null;
}

function summaryOf(passkey: Passkey): PasskeySummary {
  return {
    id: passkey.id,
    email: passkey.email,
    name: passkey.name,
    host: passkey.rpId,
    created: new Date(passkey.createdAt).toISOString(),
    lastUsed: passkey.lastUsedAt === undefined ? null : new Date(passkey.lastUsedAt).toISOString(),
  };
}

/** One row of the access review: a guest who signed in, was invited, or both. */
export interface AccessReviewRow {
  readonly email: string;
  /** 'active' (listed, not expired), 'expired', or 'none' (allowed by another rule). */
  readonly invitation: 'active' | 'expired' | 'none';
  readonly invitedRoutes: readonly string[];
  readonly invitationExpires: string | null;
  readonly invitedBy: string | null;
  readonly lastSignIn: string | null;
  readonly lastRequest: string | null;
  readonly requests: Readonly<Record<string, number>>;
}

export interface AdminApiDeps {
  readonly directory: SessionDirectory;
  /** The invitations file's entries (empty without one). */
  readonly invitations?: () => readonly Invitation[];
  /** Route names, for the per-route request counts. */
  readonly routeNames?: () => readonly string[];
  readonly clock?: () => number;
  /** The assertion keys, for `gatehouse keys [rotate]`. */
  readonly keys?: () => Pick<AssertionKeys, 'overview' | 'rotate'>;
  /** Guests' passkeys, for `gatehouse passkeys`. */
  readonly passkeys?: Pick<PasskeyStore, 'list' | 'remove' | 'removeAllOf'>;
  /** The configured admin token, read per request so a reload applies; '' when none is set. */
  readonly token: () => string;
  readonly logger: Logger;
}

/**
 * True when `presented` equals `expected`. Both are hashed first so the comparison takes the
 * same time whatever their lengths and contents: a byte-by-byte `===` would let an attacker
 * time the API to guess the token one character at a time.
 */
function tokensMatch(presented: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The bearer token of the request, or undefined when there is none. */
function bearerToken(request: Request): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** A query parameter given exactly once as a string; arrays and objects are refused. */
function singleQueryValue(request: Request, name: string): string | undefined | 'invalid' {
  const value: unknown = (request.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' && value !== '' ? value : 'invalid';
}

function sendError(response: Response, status: number, error: string, message?: string): void {
  response.status(status).json(message === undefined ? { error } : { error, message });
}

/** Creates the `/api` router; mount it with `app.use('/api', createAdminApiRouter(deps))`. */
export function createAdminApiRouter(deps: AdminApiDeps): Router {
  const { directory, logger } = deps;
  const router = Router();

  router.use((request, response, next) => {
    response.setHeader('cache-control', 'no-store');
    const expected = deps.token();
    // Without a token the API would be open to anyone who reaches the listener.
    if (expected === '') {
      sendError(response, 403, 'admin_api_disabled', 'no admin token is configured');
      return;
    }
    const presented = bearerToken(request);
    if (presented === undefined || !tokensMatch(presented, expected)) {
      response.setHeader('www-authenticate', 'Bearer');
      sendError(response, 401, 'unauthorized', 'a valid admin bearer token is required');
      return;
    }
    next();
  });

  function audit(result: RevocationResult, scope: { session_id?: string; email?: string; all?: true }): void {
    logger.info({ event: 'session.revoked', by: 'admin-api', ...scope, count: result.count }, `admin API revoked ${result.count} session(s)`);
  }

  router.get('/sessions', async (request, response) => {
    const email = singleQueryValue(request, 'email');
    if (email === 'invalid') {
      sendError(response, 400, 'invalid_email', 'email must be given once');
      return;
    }
    const sessions = await directory.list(email === undefined ? {} : { email });
    response.json({ sessions });
  });

  // Access review: every guest, invited or seen, with invitation state and recent activity.
  router.get('/report', async (request, response) => {
    const daysText = singleQueryValue(request, 'days') ?? '30';
    const days = Number(daysText);
    if (!Number.isInteger(days) || days < 1 || days > 400) {
      sendError(response, 400, 'invalid_days', 'days must be a whole number from 1 to 400');
      return;
    }
    const now = (deps.clock ?? Date.now)();
    const activity = await directory.activity(days, deps.routeNames?.() ?? []);
    const invitations = deps.invitations?.() ?? [];
    const emails = new Set([...activity.map((row) => row.email), ...invitations.map((invitation) => invitation.email)]);
    const rows: AccessReviewRow[] = [...emails].sort().map((email) => {
      const seen = activity.find((row) => row.email === email);
      const invitation = invitations.find((entry) => entry.email === email);
      return {
        email,
        invitation: invitation === undefined ? 'none' : invitation.expiresAt !== null && invitation.expiresAt.getTime() <= now ? 'expired' : 'active',
        invitedRoutes: invitation?.routes ?? [],
        invitationExpires: invitation?.expiresAt?.toISOString() ?? null,
        invitedBy: invitation?.invitedBy ?? null,
        lastSignIn: seen?.lastSignIn ?? null,
        lastRequest: seen?.lastRequest ?? null,
        requests: seen?.requests ?? {},
      };
    });
    response.json({ generated: new Date(now).toISOString(), days, guests: rows });
  });

  router.delete('/sessions/:id', async (request, response) => {
    const id = request.params.id;
    const result = await directory.revoke(id);
    audit(result, { session_id: id });
    if (result.count === 0) {
      sendError(response, 404, 'session_not_found', 'no live session has this id');
      return;
    }
    response.json({ count: result.count });
  });

  router.delete('/sessions', async (request, response) => {
    const email = singleQueryValue(request, 'email');
    const all = singleQueryValue(request, 'all');
    if (email === 'invalid' || (all !== undefined && all !== 'true') || (email === undefined) === (all === undefined)) {
      // A bare DELETE must never mean "everything": that has to be asked for explicitly.
      sendError(response, 400, 'invalid_revocation', 'give exactly one of ?email=E or ?all=true');
      return;
    }
    if (email !== undefined) {
      const result = await directory.revokeEmail(email);
      audit(result, { email });
      response.json({ count: result.count });
      return;
    }
    const result = await directory.revokeAll();
    audit(result, { all: true });
    response.json({ count: result.count });
  });

  const { passkeys } = deps;
  if (passkeys) {
    router.get('/passkeys', async (request, response) => {
      const email = singleQueryValue(request, 'email');
      if (email === 'invalid') {
        sendError(response, 400, 'invalid_email', 'email must be given once');
        return;
      }
      const list = await passkeys.list(email === undefined ? {} : { email });
      response.json({ passkeys: list.map(summaryOf) });
    });
    router.delete('/passkeys/:id', async (request, response) => {
      const id = request.params.id;
      const removed = await passkeys.remove(id);
      if (!removed) {
        sendError(response, 404, 'passkey_not_found', 'no passkey has this id');
        return;
      }
      logger.info({ event: 'passkey.removed', by: 'admin-api', passkey: id.slice(0, 12), count: 1 });
      response.json({ count: 1 });
    });
    router.delete('/passkeys', async (request, response) => {
      const email = singleQueryValue(request, 'email');
      if (email === undefined || email === 'invalid') {
        sendError(response, 400, 'invalid_removal', 'give ?email=E');
        return;
      }
      const count = await passkeys.removeAllOf(email);
      logger.info({ event: 'passkey.removed', by: 'admin-api', email, count });
      response.json({ count });
    });
  }

  const { keys } = deps;
  if (keys) {
    router.get('/keys', (_request, response) => {
      response.json(keys().overview());
    });
    router.post('/keys/rotate', async (_request, response) => {
      try {
        // The rotation is logged (assertion.keys_rotated) where it happens.
        response.json(await keys().rotate());
      } catch (error) {
        if (!(error instanceof KeysFromFileError)) throw error;
        sendError(response, 409, 'keys_from_file', error.message);
      }
    });
  }

  router.use((_request, response) => {
    sendError(response, 404, 'not_found');
  });

  // Express 5 routes rejected promises here. Four parameters mark it as an error handler.
  router.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    if (error instanceof StoreUnavailableError) {
      logger.warn({ event: 'admin_api.store_unavailable', err: error }, 'admin API call failed: session store unreachable');
      sendError(response, 503, 'store_unavailable', 'the session store is unreachable');
      return;
    }
    logger.error({ event: 'admin_api.error', err: error }, 'admin API call failed');
    sendError(response, 500, 'internal_error');
  });

  return router;
}
