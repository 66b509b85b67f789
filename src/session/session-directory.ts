/**
 * The session directory: what the admin API lists and revokes. The session record (owned by
 * sessions.ts) says nothing an operator can search by, so each sign-in also leaves a small
 * description and index entries beside it, in the same KeyValueStore:
 *
 * - `sessinfo:<id>`          JSON {@link SessionInfoRecord}, TTL until the session expires.
 * - `sessseen:<id>`          last request time (ms), written in batches, same TTL.
 * - `sessidx:email:<email>`  set of session ids of one (lower-cased) email.
 * - `sessidx:all`            set of every session id; both sets live at least as long as
 *                            the longest session in them.
 *
 * The session record stays the one source of truth: a session is alive exactly when the
 * session owner says it exists. Revoking ends it through the owner, which is what ends the
 * session on every gateway sharing the store (each re-reads the store at least once a
 * second). The directory keys are descriptions only; stale ones are skipped and pruned when
 * listed.
 */
import type { Clock, KeyValueStore } from '../store/key-value-store.js';
import type { Sessions } from './sessions.js';

/** What the gateway knows about a sign-in when it starts a session. */
export interface SignInInfo {
  readonly email: string;
  /** Clock time (ms) of the sign-in. */
  readonly signedInAt: number;
  /** Clock time (ms) at which the session expires. */
  readonly expiresAt: number;
  readonly clientAddress: string;
  readonly userAgent: string;
}

/** One live session as the admin API shows it. Times are ISO 8601 strings (UTC). */
export interface SessionSummary {
  readonly id: string;
  readonly email: string;
  readonly created: string;
  /** Last request seen (batched, so up to a flush interval old); the sign-in time before any. */
  readonly lastSeen: string;
  readonly clientAddress: string;
  readonly userAgent: string;
  readonly expiresAt: string;
}

/** One guest's activity, for `gatehouse report`. Times are ISO strings or null. */
export interface GuestActivity {
  readonly email: string;
  readonly lastSignIn: string | null;
  readonly lastRequest: string | null;
  /** Requests per route name over the window. */
  readonly requests: Readonly<Record<string, number>>;
}

/** A session that was revoked; `email` is undefined when the directory had no record of it. */
export interface RevokedSession {
  readonly id: string;
  readonly email: string | undefined;
}

/** What a revocation ended, for the caller's audit log. */
export interface RevocationResult {
  /** Sessions that were alive and are now ended. */
  readonly count: number;
  readonly sessions: readonly RevokedSession[];
}

export interface SessionDirectory {
  /** Describes and indexes a new session. Call after the session record is stored. */
  recordSignIn(id: string, info: SignInInfo): Promise<void>;
  /**
   * Notes a request on session `id` at clock time `at`. Synchronous and store-free: the
   * latest time per session is kept in memory and written by {@link flush}, so the hot path
   * never waits for the store and a busy session costs one write per flush, not per request.
   */
  recordActivity(id: string, at: number, route?: string): void;
  /**
   * Per guest: last sign-in, last request and requests per route over the last `days` days
   * (UTC days), for access reviews. Guests are everyone who signed in within the retention.
   */
  activity(days: number, routes: readonly string[]): Promise<GuestActivity[]>;
  /** Writes the pending last-seen times: one write per session with activity since the last flush. */
  flush(): Promise<void>;
  /** Live sessions, optionally of one email (case-insensitive), oldest sign-in first. */
  list(filter?: { readonly email?: string }): Promise<SessionSummary[]>;
  /** Ends session `id`; count 0 when there was no such session. */
  revoke(id: string): Promise<RevocationResult>;
  /** Ends every session of `email` ("sign out everywhere"). */
  revokeEmail(email: string): Promise<RevocationResult>;
  /** Ends every session the directory knows. */
  revokeAll(): Promise<RevocationResult>;
  /** Stops the flush timer and writes what is pending. */
  close(): Promise<void>;
}

export interface SessionDirectoryOptions {
  /** The session owner: whether a session lives, and ending one. */
  readonly sessions: Pick<Sessions, 'end' | 'exists'>;
  /** Time source for TTLs; the memory store's clock in tests. Default `Date.now`. */
  readonly clock?: Clock;
  /** How often pending last-seen times are written. Default 5 000 ms. */
  readonly flushIntervalMs?: number;
  /**
   * Most sessions with pending activity kept in memory; beyond it a flush starts early.
   * Bounds memory when many sessions are active at once. Default 10 000.
   */
  readonly maxPendingSessions?: number;
}

const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
const DEFAULT_MAX_PENDING_SESSIONS = 10_000;

// Guest activity for access reviews, kept this long after the last use:
//   guests                               set of addresses that signed in
//   guest:<email>:signin / :seen         last sign-in / last request (ms)
//   activity:<email>:<route>:<yyyy-mm-dd> requests that UTC day (batched increments)
const ACTIVITY_RETENTION_MS = 400 * 86_400_000;
const GUESTS_INDEX = 'guests';

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

const INFO_PREFIX = 'sessinfo:';
const SEEN_PREFIX = 'sessseen:';
const ALL_INDEX = 'sessidx:all';
const EMAIL_INDEX_PREFIX = 'sessidx:email:';

/** The JSON at `sessinfo:<id>`. */
interface SessionInfoRecord {
  readonly email: string;
  readonly signedInAt: number;
  readonly expiresAt: number;
  readonly clientAddress: string;
  readonly userAgent: string;
}

/** Email addresses are compared without case, so "Zoë@Example.com" finds "zoë@example.com". */
function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function emailIndexKey(email: string): string {
  return EMAIL_INDEX_PREFIX + normalizeEmail(email);
}

/** Reads a `sessinfo` value; anything malformed counts as absent (it is only a description). */
function parseInfo(text: string | undefined): SessionInfoRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<SessionInfoRecord> | null;
    if (
      value !== null &&
      typeof value === 'object' &&
      typeof value.email === 'string' &&
      typeof value.signedInAt === 'number' &&
      typeof value.expiresAt === 'number' &&
      typeof value.clientAddress === 'string' &&
      typeof value.userAgent === 'string'
    ) {
      return value as SessionInfoRecord;
    }
  } catch {
    // fall through
  }
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * Creates the directory over `kv` (the same store the sessions live in). Starts an unref'd
 * flush timer; call `close()` on shutdown so the last activity is written.
 */
export function createSessionDirectory(kv: KeyValueStore, options: SessionDirectoryOptions): SessionDirectory {
  const { sessions } = options;
  const clock = options.clock ?? Date.now;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const maxPendingSessions = options.maxPendingSessions ?? DEFAULT_MAX_PENDING_SESSIONS;

  /** Latest activity per session id since the last flush, with request counts per route. */
  let pending = new Map<string, { at: number; routes: Map<string, number> }>();
  let flushing: Promise<void> | undefined;

  async function writeLastSeen(id: string, activity: { at: number; routes: Map<string, number> }): Promise<void> {
    // The read gives the TTL, and skips sessions the directory does not know (or revoked).
    const info = parseInfo(await kv.get(INFO_PREFIX + id));
    if (info === undefined) return;
    const ttl = info.expiresAt - clock();
    if (ttl <= 0) return;
    const day = utcDay(activity.at);
    await Promise.all([
      kv.set(SEEN_PREFIX + id, String(activity.at), ttl),
      kv.set(`guest:${info.email}:seen`, String(activity.at), ACTIVITY_RETENTION_MS),
      ...[...activity.routes].map(([route, count]) => kv.increment(`activity:${info.email}:${route}:${day}`, ACTIVITY_RETENTION_MS, count)),
    ]);
  }

  async function flushNow(): Promise<void> {
    const batch = pending;
    pending = new Map();
    // A store outage loses at most one interval of last-seen times: they are informational,
    // and retrying would pile up writes against a store that is already struggling.
    await Promise.allSettled([...batch].map(([id, activity]) => writeLastSeen(id, activity)));
  }

  function flush(): Promise<void> {
    // One flush at a time; a caller during a flush waits for it, then flushes what came since.
    const run = (flushing ?? Promise.resolve()).then(flushNow);
    flushing = run;
    void run.finally(() => {
      if (flushing === run) flushing = undefined;
    });
    return run;
  }

  const timer = setInterval(() => {
    if (pending.size > 0) void flush();
  }, flushIntervalMs);
  // A flush timer must never keep a finished process (or a test run) alive.
  timer.unref();

  /** Removes every directory key of `id`; `email` from its record when the caller has it. */
  async function forget(id: string, email: string | undefined): Promise<void> {
    pending.delete(id);
    const removals: Array<Promise<unknown>> = [kv.delete(INFO_PREFIX + id), kv.delete(SEEN_PREFIX + id), kv.setRemove(ALL_INDEX, id)];
    if (email !== undefined) removals.push(kv.setRemove(emailIndexKey(email), id));
    await Promise.all(removals);
  }

  async function revokeOne(id: string, knownEmail?: string): Promise<RevokedSession | undefined> {
    const info = parseInfo(await kv.get(INFO_PREFIX + id));
    const email = info?.email ?? knownEmail;
    // Ending the session record is what ends the session, on every gateway; the rest is
    // bookkeeping, done after so a failure there cannot leave the session alive.
    const ended = await sessions.end(id);
    await forget(id, email);
    if (knownEmail !== undefined && info !== undefined && normalizeEmail(info.email) !== normalizeEmail(knownEmail)) {
      await kv.setRemove(emailIndexKey(knownEmail), id);
    }
    return ended ? { id, email } : undefined;
  }

  async function revokeMany(ids: readonly string[], knownEmail?: string): Promise<RevocationResult> {
    const results = await Promise.all(ids.map((id) => revokeOne(id, knownEmail)));
    const sessions = results.filter((result): result is RevokedSession => result !== undefined);
    return { count: sessions.length, sessions };
  }

  return {
    async recordSignIn(id, info) {
      const ttl = info.expiresAt - clock();
      if (ttl <= 0) return;
      const record: SessionInfoRecord = {
        email: normalizeEmail(info.email),
        signedInAt: info.signedInAt,
        expiresAt: info.expiresAt,
        clientAddress: info.clientAddress,
        userAgent: info.userAgent,
      };
      await Promise.all([
        kv.set(`guest:${record.email}:signin`, String(info.signedInAt), ACTIVITY_RETENTION_MS),
        kv.setAdd(GUESTS_INDEX, record.email, ACTIVITY_RETENTION_MS),
        kv.set(INFO_PREFIX + id, JSON.stringify(record), ttl),
        kv.setAdd(emailIndexKey(record.email), id, ttl),
        kv.setAdd(ALL_INDEX, id, ttl),
      ]);
    },

    recordActivity(id, at, route) {
      let activity = pending.get(id);
      if (activity === undefined) {
        activity = { at, routes: new Map() };
        pending.set(id, activity);
        if (pending.size >= maxPendingSessions) void flush();
      } else if (at > activity.at) activity.at = at;
      if (route !== undefined) activity.routes.set(route, (activity.routes.get(route) ?? 0) + 1);
    },

    async activity(days, routes) {
      const emails = await kv.setMembers(GUESTS_INDEX);
      const now = clock();
      const dayKeys = Array.from({ length: Math.max(1, days) }, (_, index) => utcDay(now - index * 86_400_000));
      return Promise.all(
        emails.sort().map(async (email): Promise<GuestActivity> => {
          const [signIn, seen] = await Promise.all([kv.get(`guest:${email}:signin`), kv.get(`guest:${email}:seen`)]);
          const requests: Record<string, number> = {};
          for (const route of routes) {
            const counts = await Promise.all(dayKeys.map((day) => kv.get(`activity:${email}:${route}:${day}`)));
            const total = counts.reduce((sum, count) => sum + (count === undefined ? 0 : Number(count)), 0);
            if (total > 0) requests[route] = total;
          }
          return { email, lastSignIn: signIn ? iso(Number(signIn)) : null, lastRequest: seen ? iso(Number(seen)) : null, requests };
        }),
      );
    },

    flush,

    async list(filter = {}) {
      const ids = await kv.setMembers(filter.email === undefined ? ALL_INDEX : emailIndexKey(filter.email));
      const wanted = filter.email === undefined ? undefined : normalizeEmail(filter.email);
      const entries = await Promise.all(
        ids.map(async (id): Promise<SessionSummary | undefined> => {
          const [alive, infoText, seenText] = await Promise.all([sessions.exists(id), kv.get(INFO_PREFIX + id), kv.get(SEEN_PREFIX + id)]);
          const info = parseInfo(infoText);
          if (!alive) {
            // Ended (logged out, expired, revoked elsewhere): prune so the index stays small.
            await forget(id, info?.email ?? wanted);
            return undefined;
          }
          // A live session without a description (signed in before the directory existed)
          // stays indexed, so revokeAll still reaches it, but cannot be shown.
          if (info === undefined) return undefined;
          if (wanted !== undefined && info.email !== wanted) return undefined;
          const seen = Number(seenText);
          const lastSeen = Math.max(info.signedInAt, Number.isFinite(seen) ? seen : 0, pending.get(id)?.at ?? 0);
          return {
            id,
            email: info.email,
            created: iso(info.signedInAt),
            lastSeen: iso(lastSeen),
            clientAddress: info.clientAddress,
            userAgent: info.userAgent,
            expiresAt: iso(info.expiresAt),
          };
        }),
      );
      return entries
        .filter((entry): entry is SessionSummary => entry !== undefined)
        .sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
    },

    async revoke(id) {
      const revoked = await revokeOne(id);
      return revoked === undefined ? { count: 0, sessions: [] } : { count: 1, sessions: [revoked] };
    },

    async revokeEmail(email) {
      return revokeMany(await kv.setMembers(emailIndexKey(email)), normalizeEmail(email));
    },

    async revokeAll() {
      return revokeMany(await kv.setMembers(ALL_INDEX));
    },

    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
