/**
 * The signed identity (SPEC section 6): a compact JWT, ES256, that an app verifies against
 * the gateway's JWKS instead of trusting a plain header.
 *
 *   header  {alg: ES256, kid, typ: JWT}
 *   claims  iss, aud   the route's external origin (`https://wiki.example.com`)
 *           sub, email the signed-in address
 *           groups     the route's groups that matched it
 *           iat, nbf   when it was signed; exp at most `assertion.ttl` later, never after the session ends
 *           auth_time  when the guest proved the inbox (seconds)
 *           amr        how: ["otp"], later ["otp","passkey"]
 *           sid        SHA-256 of the session id (base64url): tells sessions apart, reveals nothing
 *
 * Signing is kept off the per-request cost: one assertion per session and route is signed and
 * reused for every request until it comes close to expiry (the last minute, or the last half
 * of a shorter ttl), so a busy guest costs one signature every few minutes. Concurrent
 * requests that find none wait for the same signature.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { KeysUnavailableError, type AssertionKeys } from './assertion-keys.js';

/** What an assertion states; everything comes from the admission of one request. */
export interface AssertionFacts {
  /** The route's external origin: issuer and audience. */
  readonly origin: string;
  readonly routeName: string;
  readonly email: string;
  readonly groups: readonly string[];
  readonly sessionId: string;
  /** Epoch ms of the sign-in. */
  readonly signedInAt: number;
  /** Epoch ms at which the session ends. */
  readonly sessionExpiresAt: number;
  readonly amr: readonly string[];
}

export interface AssertionSettings {
  /** Milliseconds an assertion is valid (`assertion.ttl`, at most 5 minutes). */
  readonly ttl: number;
}

export interface AssertionSigner {
  /**
   * The assertion for these facts: at once (a string) when a fresh one is cached, else a
   * promise of a new signature. Rejects with KeysUnavailableError before any key was read.
   */
  assertionFor(facts: AssertionFacts): string | Promise<string>;
  /** Forgets every cached assertion (a reload may change groups or the ttl). */
  clear(): void;
}

interface Cached {
  readonly token: string;
  readonly kid: string;
  /** Epoch ms after which a new one is signed. */
  readonly reuseUntil: number;
}

// Bounds memory to about 15 MB of tokens; past it the oldest are signed again when next needed.
const MAX_CACHED = 20_000;
const REUSE_MARGIN_MS = 60_000;

/** The `sid` claim: the session id's SHA-256, so an app can tell sessions apart but never use one. */
export function sessionIdHash(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url');
}

export function createAssertionSigner(deps: { readonly keys: () => AssertionKeys; readonly settings: () => AssertionSettings; readonly clock: () => number }): AssertionSigner {
  const cache = new Map<string, Cached>();
  const signing = new Map<string, Promise<string>>();

  async function sign(cacheKey: string, facts: AssertionFacts): Promise<string> {
    const key = deps.keys().signingKey();
    if (!key) throw new KeysUnavailableError();
    const now = deps.clock();
    const ttl = deps.settings().ttl;
    const issuedAt = Math.floor(now / 1000);
    // Never valid after the session itself has ended.
    const expiresAt = Math.max(issuedAt + 1, Math.floor(Math.min(now + ttl, facts.sessionExpiresAt) / 1000));
    const token = await new SignJWT({ email: facts.email, groups: [...facts.groups], auth_time: Math.floor(facts.signedInAt / 1000), amr: [...facts.amr], sid: sessionIdHash(facts.sessionId) })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(facts.origin)
      .setAudience(facts.origin)
      .setSubject(facts.email)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(key.privateKey);
    const margin = Math.min(REUSE_MARGIN_MS, ttl / 2);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(cacheKey, { token, kid: key.kid, reuseUntil: expiresAt * 1000 - margin });
    return token;
  }

  return {
    assertionFor(facts) {
      const cacheKey = `${facts.sessionId}\n${facts.routeName}`;
      const cached = cache.get(cacheKey);
      // A rotation makes the next request sign with the new key.
      if (cached && deps.clock() < cached.reuseUntil && cached.kid === deps.keys().signingKey()?.kid) return cached.token;
      const pending = signing.get(cacheKey);
      if (pending) return pending;
      const signed = sign(cacheKey, facts).finally(() => signing.delete(cacheKey));
      signing.set(cacheKey, signed);
      return signed;
    },
    clear() {
      cache.clear();
    },
  };
}
