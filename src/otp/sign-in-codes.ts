/**
 * The sign-in code service: issues codes, checks them and says where a browser's sign-in
 * stands, enforcing every limit of SPEC section 2 (`otp:`) with the store's atomic
 * operations, so several gateways sharing one Redis enforce them together.
 *
 * Store keys (the backend adds its prefix). `otp:` keys are made by code requests and may be
 * refused when a memory store is full; `guard:` keys are the brute-force counters, which
 * nothing may push out (src/store/create-store.ts):
 *   otp:flow:<flowId>         the browser's sign-in {email, allowed, expiresAt, state}     TTL ttl + FLOW_MEMORY_MS
 *   otp:code:<flowId>         keyed hash of its live code, consumed once                   TTL ttl
 *   otp:attempts:<flowId>     guesses against that flow's code                             window ttl
 *   otp:cooldown:<email>      a code was sent recently                                     TTL resend_after
 *   otp:sent:<email>          codes sent to the address                                    max_per_email
 *   otp:ip:<client>           code requests from one client                                max_per_ip
 *   guard:fail:<email>        wrong codes for the address, across all its codes            max_failures_per_email
 *   guard:client:<client>     wrong codes from one client, for any address                 max_failures_per_ip
 * `<client>` is the client address, IPv6 grouped per /64 (client-key.ts).
 *
 * Every guess is counted against both wrong-code budgets before it is compared, and given
 * back when it was right: of many parallel guesses none is compared past a budget (counting
 * after comparing let 19 through a cap of 10). docs/security.md has the arithmetic these
 * budgets give against an attacker who invents addresses.
 *
 * A flow outlives its code by FLOW_MEMORY_MS so the code page can tell a guest that their
 * code expired, was used or was guessed at too often, instead of one vague "not valid".
 *
 * Allowed and not-allowed addresses take exactly the same path here (a not-allowed flow
 * simply can never match), so responses, limits and timing do not reveal who is allowed.
 */
import { randomBytes } from 'node:crypto';
import type { GatewayConfig } from '../config/schema.js';
import type { Clock, KeyValueStore } from '../store/key-value-store.js';
import { cleanTypedCode, generateOneTimeCode, hashOneTimeCode, oneTimeCodeMatches } from './one-time-code.js';
import { clientLimitKey } from './client-key.js';

export type OtpSettings = GatewayConfig['otp'];

/** How long a flow is remembered after its code expired (the flow cookie lives as long). */
export const FLOW_MEMORY_MS = 60 * 60_000;

/**
 * The browser's sign-in, as stored. The code's hash lives apart (`otp:code:`), so that
 * consuming it is the one atomic step that decides a sign-in, whatever this record says.
 */
interface PendingSignIn {
  readonly email: string;
  readonly allowed: boolean;
  /** When the code stops working (0 without a code). */
  readonly expiresAt: number;
  /** `waiting`: this browser got no code (it asked during the address's cooldown); `used`: signed in with it; `dead`: too many wrong guesses. */
  readonly state: 'pending' | 'waiting' | 'used' | 'dead';
}

export type CodeRequestOutcome =
  /** A code was made. The caller answers first, then mails it when `allowed`. */
  | { readonly kind: 'issued'; readonly flowId: string; readonly code: string; readonly expiresAt: number }
  /** A code for this address went out less than `resend_after` ago: no new one. `flowId` is the browser's flow. */
  | { readonly kind: 'cooldown'; readonly flowId: string; readonly retryAfterSeconds: number }
  /**
   * A limit is reached: 429 with Retry-After. `limit` says which: `ip` and `email` for the
   * log only (the page is the same), `locked` (the address) and `client_locked` (too many
   * wrong codes from this client) each get their own page.
   */
  | { readonly kind: 'rate_limited'; readonly limit: 'ip' | 'email' | 'locked' | 'client_locked'; readonly retryAfterSeconds: number };

export type CodeCheckOutcome =
  | { readonly kind: 'signed_in'; readonly email: string }
  /** Wrong code; `attemptsLeft` for this code. */
  | { readonly kind: 'wrong_code'; readonly email: string; readonly attemptsLeft: number; readonly locked: boolean }
  /** Not a code of the right shape: not counted as a guess. */
  | { readonly kind: 'malformed' }
  /** This browser never asked (or asked too long ago to remember). */
  | { readonly kind: 'no_sign_in' }
  /** The flow has no usable code: expired, used, guessed at too often, or none sent to this browser. */
  | { readonly kind: 'not_pending'; readonly email: string }
  | { readonly kind: 'locked'; readonly email: string; readonly retryAfterSeconds: number }
  /** Too many wrong codes from this client, whatever the address. */
  | { readonly kind: 'client_locked'; readonly email: string; readonly retryAfterSeconds: number };

/** Where a browser's sign-in stands, for the code page. */
export interface SignInStatus {
  readonly email: string;
  /**
   * `code_sent`: a live code; `no_code`: this browser got none (asked during the cooldown);
   * `expired`, `used`, `dead` (too many wrong guesses): the code is gone; `locked`: too many
   * wrong codes for the address; `client_locked`: too many wrong codes from this client.
   */
  readonly state: 'code_sent' | 'no_code' | 'expired' | 'used' | 'dead' | 'locked' | 'client_locked';
  /** When the live code stops working (`code_sent`). */
  readonly expiresAt: number;
  /** Guesses left for the live code (`code_sent`). */
  readonly attemptsLeft: number;
  /** Until a new code may be asked for (0: now). */
  readonly resendInMs: number;
  /** Until the address (`locked`) or the client (`client_locked`) is unlocked. */
  readonly lockedForMs: number;
}

export interface SignInCodeService {
  requestCode(input: { email: string; allowed: boolean; clientAddress: string; flowId?: string }): Promise<CodeRequestOutcome>;
  checkCode(input: { flowId: string; typedCode: string; clientAddress: string }): Promise<CodeCheckOutcome>;
  /** Where the browser's sign-in stands; undefined when there is none. */
  describeSignIn(flowId: string, clientAddress: string): Promise<SignInStatus | undefined>;
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

  const emailFailures = (email: string) => `guard:fail:${email}`;
  const clientFailures = (client: string) => `guard:client:${client}`;

  /** Whether a wrong-code budget is spent, and for how long still. */
  async function lockOf(key: string, rate: OtpSettings['max_failures_per_email']): Promise<{ locked: boolean; retryAfterMs: number }> {
    const count = Number((await store.get(key)) ?? 0);
    if (count < rate.count) return { locked: false, retryAfterMs: 0 };
    return { locked: true, retryAfterMs: (await store.ttl(key)) ?? rate.windowMs };
  }

  async function readFlow(flowId: string): Promise<PendingSignIn | undefined> {
    const stored = await store.get(`otp:flow:${flowId}`);
    return stored === undefined ? undefined : (JSON.parse(stored) as PendingSignIn);
  }

  /** Writes a flow, kept FLOW_MEMORY_MS past its code (or past a code it could still get). */
  async function writeFlow(flowId: string, flow: PendingSignIn, settings: OtpSettings): Promise<void> {
    const keepUntil = Math.max(flow.expiresAt, now() + settings.ttl) + FLOW_MEMORY_MS;
    await store.set(`otp:flow:${flowId}`, JSON.stringify(flow), keepUntil - now());
  }

  /** The code can no longer be used: the flow says why, the hash is gone. */
  async function endCode(flowId: string, flow: PendingSignIn, state: 'used' | 'dead', settings: OtpSettings): Promise<void> {
    await writeFlow(flowId, { ...flow, state }, settings);
    await store.delete(`otp:code:${flowId}`);
  }

  return {
    async requestCode({ email, allowed, clientAddress, flowId }) {
      const settings = deps.settings();
      const client = clientLimitKey(clientAddress);
      // Mass mailing / enumeration from one client: per-client limit first.
      const perIp = await store.increment(`otp:ip:${client}`, settings.max_per_ip.windowMs);
      if (perIp.count > settings.max_per_ip.count) return { kind: 'rate_limited', limit: 'ip', retryAfterSeconds: seconds(perIp.resetInMs) };
      // Brute force: a client that spent its wrong codes, or a locked address, gets no new code.
      const clientLock = await lockOf(clientFailures(client), settings.max_failures_per_ip);
      if (clientLock.locked) return { kind: 'rate_limited', limit: 'client_locked', retryAfterSeconds: seconds(clientLock.retryAfterMs) };
      const failures = await lockOf(emailFailures(email), settings.max_failures_per_email);
      if (failures.locked) return { kind: 'rate_limited', limit: 'locked', retryAfterSeconds: seconds(failures.retryAfterMs) };
      const id = flowId ?? newFlowId();
      // Inbox flooding: one code per resend_after, and max_per_email per window.
      if (!(await store.add(`otp:cooldown:${email}`, '1', settings.resend_after))) {
        const retryAfterSeconds = seconds((await store.ttl(`otp:cooldown:${email}`)) ?? settings.resend_after);
        // This browser keeps its own code for the address; otherwise it now waits for one.
        if ((await readFlow(id))?.email !== email) {
          await writeFlow(id, { email, allowed, expiresAt: 0, state: 'waiting' }, settings);
          await store.delete(`otp:code:${id}`);
        }
        return { kind: 'cooldown', flowId: id, retryAfterSeconds };
      }
      const perEmail = await store.increment(`otp:sent:${email}`, settings.max_per_email.windowMs);
      if (perEmail.count > settings.max_per_email.count) return { kind: 'rate_limited', limit: 'email', retryAfterSeconds: seconds(perEmail.resetInMs) };

      const code = generateOneTimeCode(settings.digits, deps.random);
      const expiresAt = now() + settings.ttl;
      // A new code replaces the old one (same flow) and gets a fresh attempt budget; the
      // per-address failure count is kept, so asking again never resets brute-force limits.
      await store.set(`otp:code:${id}`, hashOneTimeCode(deps.secrets()[0]!, id, email, code), settings.ttl);
      await writeFlow(id, { email, allowed, expiresAt, state: 'pending' }, settings);
      await store.delete(`otp:attempts:${id}`);
      return { kind: 'issued', flowId: id, code, expiresAt };
    },

    async checkCode({ flowId, typedCode, clientAddress }) {
      const settings = deps.settings();
      const code = cleanTypedCode(typedCode, settings.digits);
      if (code === undefined) return { kind: 'malformed' };
      const pending = await readFlow(flowId);
      if (pending === undefined) return { kind: 'no_sign_in' };
      const { email } = pending;
      if (pending.state !== 'pending' || pending.expiresAt <= now()) return { kind: 'not_pending', email };
      const emailKey = emailFailures(email);
      const clientKey = clientFailures(clientLimitKey(clientAddress));
      const emailLock = await lockOf(emailKey, settings.max_failures_per_email);
      if (emailLock.locked) return { kind: 'locked', email, retryAfterSeconds: seconds(emailLock.retryAfterMs) };
      const clientLock = await lockOf(clientKey, settings.max_failures_per_ip);
      if (clientLock.locked) return { kind: 'client_locked', email, retryAfterSeconds: seconds(clientLock.retryAfterMs) };
      // Parallel guesses: the counter is atomic, so at most max_attempts guesses are compared.
      // One past it is refused without ending the code: a right guess among the first ones,
      // still in flight, must be able to win (the fifth wrong guess ends the code below).
      const attempts = await store.increment(`otp:attempts:${flowId}`, settings.ttl);
      if (attempts.count > settings.max_attempts) return { kind: 'not_pending', email };
      const hash = await store.get(`otp:code:${flowId}`);
      if (hash === undefined) return { kind: 'not_pending', email };
      // Reserve first, compare second: this guess counts as wrong until it is shown right, so
      // no number of parallel guesses gets more compared than the budgets allow.
      const [byEmail, byClient] = await Promise.all([
        store.increment(emailKey, settings.max_failures_per_email.windowMs),
        store.increment(clientKey, settings.max_failures_per_ip.windowMs),
      ]);
      const giveBack = () => Promise.all([store.decrement(emailKey), store.decrement(clientKey)]);
      if (byEmail.count > settings.max_failures_per_email.count) {
        await giveBack();
        return { kind: 'locked', email, retryAfterSeconds: seconds(byEmail.resetInMs) };
      }
      if (byClient.count > settings.max_failures_per_ip.count) {
        await giveBack();
        return { kind: 'client_locked', email, retryAfterSeconds: seconds(byClient.resetInMs) };
      }
      const matches = oneTimeCodeMatches(deps.secrets(), flowId, email, code, hash) && pending.allowed;
      if (!matches) {
        const locked = byEmail.count >= settings.max_failures_per_email.count;
        const attemptsLeft = Math.max(0, settings.max_attempts - attempts.count);
        if (attemptsLeft === 0 || locked) await endCode(flowId, pending, 'dead', settings);
        return { kind: 'wrong_code', email, attemptsLeft: locked ? 0 : attemptsLeft, locked };
      }
      // It was right: not a wrong code after all.
      await giveBack();
      // Replay and parallel correct guesses: consuming is atomic, exactly one caller gets
      // the hash it compared against (a new code sent meanwhile is another hash: no win).
      if ((await store.consume(`otp:code:${flowId}`)) !== hash) return { kind: 'not_pending', email };
      // Remembered as used, so a second try says so instead of "expired".
      await writeFlow(flowId, { ...pending, state: 'used' }, settings);
      await store.delete(`otp:attempts:${flowId}`);
      return { kind: 'signed_in', email };
    },

    async describeSignIn(flowId, clientAddress) {
      const settings = deps.settings();
      const flow = await readFlow(flowId);
      if (flow === undefined) return undefined;
      const failures = await lockOf(emailFailures(flow.email), settings.max_failures_per_email);
      const clientLock = await lockOf(clientFailures(clientLimitKey(clientAddress)), settings.max_failures_per_ip);
      const resendInMs = (await store.ttl(`otp:cooldown:${flow.email}`)) ?? 0;
      const base = { email: flow.email, expiresAt: 0, attemptsLeft: 0, resendInMs, lockedForMs: 0 };
      if (failures.locked) return { ...base, state: 'locked', resendInMs: 0, lockedForMs: failures.retryAfterMs };
      if (clientLock.locked) return { ...base, state: 'client_locked', resendInMs: 0, lockedForMs: clientLock.retryAfterMs };
      if (flow.state === 'used') return { ...base, state: 'used' };
      if (flow.state === 'dead') return { ...base, state: 'dead' };
      if (flow.state === 'waiting') return { ...base, state: 'no_code' };
      if (flow.expiresAt <= now()) return { ...base, state: 'expired' };
      const attempts = Number((await store.get(`otp:attempts:${flowId}`)) ?? 0);
      if (attempts >= settings.max_attempts) return { ...base, state: 'dead' };
      return { ...base, state: 'code_sent', expiresAt: flow.expiresAt, attemptsLeft: settings.max_attempts - attempts };
    },
  };
}
