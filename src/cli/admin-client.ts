/**
 * The client side of the admin API (src/admin/admin-api.ts), for `gatehouse sessions` and
 * `gatehouse revoke`. Every failure becomes an {@link AdminClientError} whose message can be
 * printed as is: it says what went wrong and what to check, never a stack or a raw socket code.
 */
import type { SessionSummary } from '../session/session-directory.js';

export type { SessionSummary } from '../session/session-directory.js';
import type { AccessReviewRow, PasskeySummary } from '../admin/admin-api.js';
import type { KeysOverview } from '../assertion/assertion-keys.js';

export interface AdminClientOptions {
  /** The admin listener, e.g. `http://127.0.0.1:9090` (no trailing `/api`). */
  readonly baseUrl: string;
  /** The admin bearer token from the config. */
  readonly token: string;
  /** How long one call may take. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

export interface AdminClient {
  /** Live sessions, optionally of one email. */
  listSessions(email?: string): Promise<SessionSummary[]>;
  /** Ends one session; fails with code `session_not_found` when there is none. */
  revokeSession(id: string): Promise<{ count: number }>;
  /** Ends every session of `email`. */
  revokeEmail(email: string): Promise<{ count: number }>;
  /** Ends every session. */
  revokeAll(): Promise<{ count: number }>;
  /** The passkeys of `email`, or everyone's. */
  listPasskeys(email?: string): Promise<PasskeySummary[]>;
  removePasskey(id: string): Promise<{ count: number }>;
  removePasskeysOf(email: string): Promise<{ count: number }>;
  /** The access review over the last `days` days. */
  report(days: number): Promise<{ generated: string; days: number; guests: AccessReviewRow[] }>;
  /** The assertion keys: which signs, which is next, which previous ones are still published. */
  listKeys(): Promise<KeysOverview>;
  /** Starts signing with the next key; fails with code `keys_from_file` when they come from assertion.key_file. */
  rotateKeys(): Promise<KeysOverview>;
}

/** A failed admin API call, with a message meant for the operator's terminal. */
export class AdminClientError extends Error {
  /** `unreachable`, `timeout`, `unauthorized`, `admin_api_disabled`, `session_not_found`, `bad_response`, or the API's error code. */
  readonly code: string;
  /** The HTTP status, when the gateway answered. */
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AdminClientError';
    this.code = code;
    this.status = options.status;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Creates a client for the admin API at `baseUrl`. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  async function call(method: 'GET' | 'DELETE' | 'POST', path: string, notFound?: string): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/api${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new AdminClientError('timeout', `the gateway's admin listener at ${baseUrl} did not answer within ${timeoutMs} ms`, { cause: error });
      }
      const reason = describeConnectionError(error);
      throw new AdminClientError('unreachable', `the gateway's admin listener at ${baseUrl} is not reachable${reason ? ` (${reason})` : ''}; is the gateway running, and is admin.listen right?`, { cause: error });
    }

    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new AdminClientError('bad_response', `the gateway at ${baseUrl} answered ${response.status} without JSON; is that the admin listener?`, { status: response.status, cause: error });
    }
    if (response.ok) return body;

    const code = typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : `http_${response.status}`;
    const status = response.status;
    if (status === 401) throw new AdminClientError('unauthorized', 'the admin token was refused; check admin.token in the config', { status });
    if (code === 'admin_api_disabled') throw new AdminClientError(code, 'the admin API is disabled: the gateway has no admin token configured', { status });
    if (status === 404 && (code === 'session_not_found' || code === 'passkey_not_found') && notFound !== undefined) throw new AdminClientError(code, notFound, { status });
    if (code === 'store_unavailable') throw new AdminClientError(code, 'the gateway cannot reach its session store; try again once it is back', { status });
    if (code === 'keys_from_file') throw new AdminClientError(code, String((body as { message?: unknown }).message ?? 'the keys come from assertion.key_file'), { status });
    throw new AdminClientError(code, `the admin API refused the request: ${status} ${code}`, { status });
  }

  function countOf(body: unknown): { count: number } {
    const count = typeof body === 'object' && body !== null ? (body as { count?: unknown }).count : undefined;
    if (typeof count !== 'number') throw new AdminClientError('bad_response', 'the admin API answered without a count');
    return { count };
  }

  function keysOf(body: unknown): KeysOverview {
    const keys = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys)) throw new AdminClientError('bad_response', 'the admin API answered without a key list');
    return body as KeysOverview;
  }

  return {
    async listKeys() {
      return keysOf(await call('GET', '/keys'));
    },

    async rotateKeys() {
      return keysOf(await call('POST', '/keys/rotate'));
    },

    async report(days) {
      const body = await call('GET', `/report?days=${days}`);
      const guests = typeof body === 'object' && body !== null ? (body as { guests?: unknown }).guests : undefined;
      if (!Array.isArray(guests)) throw new AdminClientError('bad_response', 'the admin API answered without a report');
      return body as { generated: string; days: number; guests: AccessReviewRow[] };
    },

    async listSessions(email) {
      const body = await call('GET', email === undefined ? '/sessions' : `/sessions?email=${encodeURIComponent(email)}`);
      const sessions = typeof body === 'object' && body !== null ? (body as { sessions?: unknown }).sessions : undefined;
      if (!Array.isArray(sessions)) throw new AdminClientError('bad_response', 'the admin API answered without a session list');
      return sessions as SessionSummary[];
    },

    async revokeSession(id) {
      return countOf(await call('DELETE', `/sessions/${encodeURIComponent(id)}`, `no live session has the id ${id}`));
    },

    async revokeEmail(email) {
      return countOf(await call('DELETE', `/sessions?email=${encodeURIComponent(email)}`));
    },

    async revokeAll() {
      return countOf(await call('DELETE', '/sessions?all=true'));
    },

    async listPasskeys(email) {
      const body = await call('GET', email === undefined ? '/passkeys' : `/passkeys?email=${encodeURIComponent(email)}`);
      const passkeys = typeof body === 'object' && body !== null ? (body as { passkeys?: unknown }).passkeys : undefined;
      if (!Array.isArray(passkeys)) throw new AdminClientError('bad_response', 'the admin API answered without a passkey list');
      return passkeys as PasskeySummary[];
    },

    async removePasskey(id) {
      return countOf(await call('DELETE', `/passkeys/${encodeURIComponent(id)}`, `no passkey has the id ${id}`));
    },

    async removePasskeysOf(email) {
      return countOf(await call('DELETE', `/passkeys?email=${encodeURIComponent(email)}`));
    },
  };
}

/** `ECONNREFUSED 127.0.0.1:9090` and the like, from fetch's nested cause. */
function describeConnectionError(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return '';
}
