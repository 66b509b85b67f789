/**
 * WebAuthn challenges that cost the store nothing until they are answered.
 *
 * A challenge is `v1.<purpose>.<expires>.<nonce>.<mac>`: what it is for (`add` or `sign_in`),
 * until when (ms), 16 random bytes, and an HMAC under the gateway secret over all of that and
 * what it is bound to (the page's origin; for `add`, also the session). Issuing one writes
 * nothing, so the sign-in page can ask for one on every view (for passkey autofill). Checking
 * one verifies the HMAC and the time, and then marks its nonce used in the store (SET NX): of
 * two answers with the same challenge, on any gateways, only the first counts (no replay).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyValueStore } from '../store/key-value-store.js';

/** How long a guest has to answer one WebAuthn prompt. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

export type ChallengePurpose = 'add' | 'sign_in';

/** What a challenge is bound to: the page's origin, and for `add` the session adding. */
export interface ChallengeBinding {
  readonly purpose: ChallengePurpose;
  readonly origin: string;
  readonly sessionId?: string;
}

const FORMAT = /^v1\.(add|sign_in)\.([0-9]{13})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function macOf(secret: string, binding: ChallengeBinding, expires: string, nonce: string): string {
  return createHmac('sha256', secret)
    .update(`gatehouse webauthn\n${binding.purpose}\n${expires}\n${nonce}\n${binding.origin}\n${binding.sessionId ?? ''}`)
    .digest('base64url');
}

export interface Challenges {
  issue(binding: ChallengeBinding): string;
  /** True for a challenge we issued for exactly this binding, not expired (no store access). */
  isGenuine(challenge: string, binding: ChallengeBinding): boolean;
  /**
   * True once for a genuine challenge: its nonce is marked used in the store. A second call
   * with the same challenge, on any gateway, is false (replay).
   */
  redeem(challenge: string, binding: ChallengeBinding): Promise<boolean>;
}

export function createChallenges(kv: KeyValueStore, options: { secrets: () => readonly string[]; clock: () => number }): Challenges {
  /** The nonce and the time left of a challenge we issued for `binding`; undefined for anything else. */
  function genuine(challenge: string, binding: ChallengeBinding): { nonce: string; leftMs: number } | undefined {
    const parts = FORMAT.exec(challenge);
    if (!parts || parts[1] !== binding.purpose) return undefined;
    const [, , expires, nonce, mac] = parts as unknown as [string, string, string, string, string];
    const leftMs = Number(expires) - options.clock();
    if (leftMs <= 0 || leftMs > CHALLENGE_TTL_MS) return undefined;
    const given = Buffer.from(mac);
    // Every configured secret: a challenge issued just before a secret rotation still counts.
    const matches = options.secrets().some((secret) => {
      const expected = Buffer.from(macOf(secret, binding, expires, nonce));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    return matches ? { nonce, leftMs } : undefined;
  }

  return {
    issue(binding) {
      const expires = String(options.clock() + CHALLENGE_TTL_MS);
      const nonce = randomBytes(16).toString('base64url');
      return `v1.${binding.purpose}.${expires}.${nonce}.${macOf(options.secrets()[0]!, binding, expires, nonce)}`;
    },
    isGenuine(challenge, binding) {
      return genuine(challenge, binding) !== undefined;
    },
    async redeem(challenge, binding) {
      const checked = genuine(challenge, binding);
      if (checked === undefined) return false;
      return kv.add(`webauthn:used:${checked.nonce}`, '1', checked.leftMs);
    },
  };
}
