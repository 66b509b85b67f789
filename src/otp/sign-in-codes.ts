/**
 * The sign-in code service: issues codes and checks them, enforcing every limit of SPEC
 * section 2 (`otp:`) with the store's atomic operations, so several gateways sharing one
 * Redis enforce them together.
 *
 * Store keys (the backend adds its prefix):
 *   otp:flow:<flowId>       pending sign-in {email, hash, allowed, expiresAt}  TTL ttl
 *   otp:attempts:<flowId>   guesses against that flow's code                    window ttl
 *   otp:cooldown:<email>    a code was sent recently                            TTL resend_after
 *   otp:sent:<email>        codes sent to the address                           max_per_email
 *   otp:ip:<address>        code requests from one client address              max_per_ip
 *   otp:fail:<email>        wrong codes for the address, across all its codes  max_failures_per_email
 *
 * Allowed and not-allowed addresses take exactly the same path here (a not-allowed flow
 * simply can never match), so responses, limits and timing do not reveal who is allowed.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayConfig } from '../config/schema.js';
import type { Clock, KeyValueStore } from '../store/key-value-store.js';
import { cleanTypedCode, generateOneTimeCode, hashOneTimeCode, oneTimeCodeMatches } from './one-time-code.js';

export type OtpSettings = GatewayConfig['otp'];

interface PendingSignIn {
  readonly email: string;
  readonly hash: string;
  readonly allowed: boolean;
  readonly expiresAt: number;
}

export type CodeRequestOutcome =
  /** A code was made. The caller answers first, then mails it when `allowed`. */
  | { readonly kind: 'issued'; readonly flowId: string; readonly code: string; readonly expiresAt: number }
  /** A code for this address went out less than `resend_after` ago: no new one. */
  | { readonly kind: 'cooldown'; readonly retryAfterSeconds: number }
  /** A limit is reached: 429 with Retry-After. `limit` says which, for the log only. */
  | { readonly kind: 'rate_limited'; readonly limit: 'ip' | 'email' | 'locked'; readonly retryAfterSeconds: number };

export type CodeCheckOutcome =
  | { readonly kind: 'signed_in'; readonly email: string }
  /** Wrong code; `attemptsLeft` for this code. */
  | { readonly kind: 'wrong_code'; readonly email: string; readonly attemptsLeft: number; readonly locked: boolean }
  /** Not a code of the right shape: not counted as a guess. */
  | { readonly kind: 'malformed' }
  /** No pending sign-in for this browser (expired, used, too many guesses, never asked). */
  | { readonly kind: 'no_pending_code' }
  | { readonly kind: 'locked'; readonly email: string; readonly retryAfterSeconds: number };

export interface SignInCodeService {
  requestCode(input: { email: string; allowed: boolean; clientAddress: string; flowId?: string }): Promise<CodeRequestOutcome>;
  checkCode(input: { flowId: string; typedCode: string }): Promise<CodeCheckOutcome>;
  /** The address a browser's pending sign-in is for, to show on the code page. */
  pendingEmail(flowId: string): Promise<string | undefined>;
}

export interface SignInCodeDeps {
  readonly store: KeyValueStore;
  readonly settings: () => OtpSettings;
  /** The first signs, all verify. */
  readonly secrets: () => readonly string[];
  readonly clock?: Clock;
  readonly random?: (max: number) => number;
  readonly newFlowId?: () => string;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function createSignInCodeService(deps: SignInCodeDeps): SignInCodeService {
  const { store } = deps;
  const now = deps.clock ?? Date.now;
  const newFlowId = deps.newFlowId ?? (() => randomBytes(18).toString('base64url'));

  async function failuresFor(email: string, settings: OtpSettings): Promise<{ locked: boolean; retryAfterMs: number }> {
    const count = Number((await store.get(`otp:fail:${email}`)) ?? 0);
    if (count < settings.max_failures_per_email.count) return { locked: false, retryAfterMs: 0 };
    return { locked: true, retryAfterMs: (await store.ttl(`otp:fail:${email}`)) ?? settings.max_failures_per_email.windowMs };
  }

  return {
    async requestCode({ email, allowed, clientAddress, flowId }) {
      const settings = deps.settings();
      // Mass mailing / enumeration from one client: per-address-of-client limit first.
      const perIp = await store.increment(`otp:ip:${clientAddress}`, settings.max_per_ip.windowMs);
      if (perIp.count > settings.max_per_ip.count) return { kind: 'rate_limited', limit: 'ip', retryAfterSeconds: seconds(perIp.resetInMs) };
      // Brute force across codes: a locked address gets no new code until the window ends.
      const failures = await failuresFor(email, settings);
      if (failures.locked) return { kind: 'rate_limited', limit: 'locked', retryAfterSeconds: seconds(failures.retryAfterMs) };
      // Inbox flooding: one code per resend_after, and max_per_email per window.
      if (!(await store.add(`otp:cooldown:${email}`, '1', settings.resend_after))) {
        return { kind: 'cooldown', retryAfterSeconds: seconds((await store.ttl(`otp:cooldown:${email}`)) ?? settings.resend_after) };
      }
      const perEmail = await store.increment(`otp:sent:${email}`, settings.max_per_email.windowMs);
      if (perEmail.count > settings.max_per_email.count) return { kind: 'rate_limited', limit: 'email', retryAfterSeconds: seconds(perEmail.resetInMs) };

      const id = flowId ?? newFlowId();
      const code = generateOneTimeCode(settings.digits, deps.random);
      const expiresAt = now() + settings.ttl;
      const pending: PendingSignIn = { email, hash: hashOneTimeCode(deps.secrets()[0]!, id, email, code), allowed, expiresAt };
      // A new code replaces the old one (same flow) and gets a fresh attempt budget; the
      // per-address failure count is kept, so asking again never resets brute-force limits.
      await store.set(`otp:flow:${id}`, JSON.stringify(pending), settings.ttl);
      await store.delete(`otp:attempts:${id}`);
      return { kind: 'issued', flowId: id, code, expiresAt };
    },

    async checkCode({ flowId, typedCode }) {
      const settings = deps.settings();
      const code = cleanTypedCode(typedCode, settings.digits);
      if (code === undefined) return { kind: 'malformed' };
      const stored = await store.get(`otp:flow:${flowId}`);
      if (stored === undefined) return { kind: 'no_pending_code' };
      const pending = JSON.parse(stored) as PendingSignIn;
      if (pending.expiresAt <= now()) {
        await store.delete(`otp:flow:${flowId}`);
        return { kind: 'no_pending_code' };
      }
      const failures = await failuresFor(pending.email, settings);
      if (failures.locked) return { kind: 'locked', email: pending.email, retryAfterSeconds: seconds(failures.retryAfterMs) };
      // Parallel guesses: the counter is atomic, so at most max_attempts guesses are compared.
      const attempts = await store.increment(`otp:attempts:${flowId}`, settings.ttl);
      if (attempts.count > settings.max_attempts) {
        await store.delete(`otp:flow:${flowId}`);
        return { kind: 'no_pending_code' };
      }
      const matches = oneTimeCodeMatches(deps.secrets(), flowId, pending.email, code, pending.hash) && pending.allowed;
      if (!matches) {
        const failed = await store.increment(`otp:fail:${pending.email}`, settings.max_failures_per_email.windowMs);
        const locked = failed.count >= settings.max_failures_per_email.count;
        const attemptsLeft = Math.max(0, settings.max_attempts - attempts.count);
        if (attemptsLeft === 0 || locked) await store.delete(`otp:flow:${flowId}`);
        return { kind: 'wrong_code', email: pending.email, attemptsLeft: locked ? 0 : attemptsLeft, locked };
      }
      // Replay and parallel correct guesses: consuming is atomic, exactly one caller wins.
      if ((await store.consume(`otp:flow:${flowId}`)) === undefined) return { kind: 'no_pending_code' };
      await store.delete(`otp:attempts:${flowId}`);
      return { kind: 'signed_in', email: pending.email };
    },

    async pendingEmail(flowId) {
      const stored = await store.get(`otp:flow:${flowId}`);
      return stored === undefined ? undefined : (JSON.parse(stored) as PendingSignIn).email;
    },
  };
}
