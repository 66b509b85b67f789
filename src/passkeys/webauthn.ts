/**
 * The two WebAuthn ceremonies, through @simplewebauthn/server: adding a passkey (registration)
 * and signing in with one (authentication). Every check the standard asks for is the
 * library's (challenge, origin, RP id hash, flags, signature, counter); what is ours is what
 * to expect: the challenge we issued and still hold (one use, see passkey-store.ts), the
 * origin the page was served from, and the host name as the relying party id.
 *
 * User verification is required both times: a passkey stands in for the code, so it must
 * prove the person (PIN, fingerprint, face), not only that a device is present.
 */
import { createHash } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Passkey } from './passkey-store.js';

type WebAuthnLibrary = typeof import('@simplewebauthn/server');
let library: Promise<WebAuthnLibrary> | undefined;

/**
 * The library, loaded at the first ceremony: it and its ASN.1 and COSE dependencies hold
 * about 8 MB of heap (24 MB of RSS) that a gateway whose guests add no passkeys never needs.
 */
function webauthnLibrary(): Promise<WebAuthnLibrary> {
  library ??= import('@simplewebauthn/server');
  return library;
}

/** How long the browser's prompt stays open. */
const PROMPT_TIMEOUT_MS = 120_000;

/** Where the ceremony runs: the page's origin and its host name (the relying party id). */
export interface Relying {
  readonly origin: string;
  readonly rpId: string;
  /** Shown by some authenticators: the product name. */
  readonly rpName: string;
}

/** The WebAuthn user handle of an address: stable (so an authenticator keeps one passkey per address and site), not the address itself. */
function userHandleOf(email: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(`gatehouse passkey user\n${email}`).digest());
}

/** The browser's options to make a passkey for `email`, answering `challenge` (challenges.ts). */
export async function optionsToAdd(relying: Relying, email: string, existing: readonly Passkey[], challenge: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { generateRegistrationOptions } = await webauthnLibrary();
  return generateRegistrationOptions({
    challenge,
    rpName: relying.rpName,
    rpID: relying.rpId,
    userName: email,
    userDisplayName: email,
    userID: userHandleOf(email),
    timeout: PROMPT_TIMEOUT_MS,
    attestationType: 'none',
    // The same authenticator twice would be one passkey listed twice.
    excludeCredentials: existing.filter((passkey) => passkey.rpId === relying.rpId).map((passkey) => ({ id: passkey.id, transports: [...passkey.transports] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  });
}

/** The browser's options to sign in with any passkey of this site, answering `challenge`. */
export async function optionsToSignIn(relying: Relying, challenge: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await webauthnLibrary();
  // No allowCredentials: the browser offers the passkeys it holds for this site (also as autofill).
  return generateAuthenticationOptions({ rpID: relying.rpId, timeout: PROMPT_TIMEOUT_MS, userVerification: 'required', challenge });
}

/**
 * The challenge a browser's answer is for, from its clientDataJSON: `encoded` as the answer
 * carries it (base64url), `value` the string we issued.
 */
export function challengeOf(response: unknown): { encoded: string; value: string } | undefined {
  const clientDataJSON = (response as { response?: { clientDataJSON?: unknown } } | undefined)?.response?.clientDataJSON;
  if (typeof clientDataJSON !== 'string' || clientDataJSON.length > 4096) return undefined;
  try {
    const challenge = (JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { challenge?: unknown }).challenge;
    return typeof challenge === 'string' ? { encoded: challenge, value: Buffer.from(challenge, 'base64url').toString('utf8') } : undefined;
  } catch {
    return undefined;
  }
}

export type Verified<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Checks a new passkey against the challenge (as encoded in the answer); its public key, counter and transports when valid. */
export async function verifyAdded(response: unknown, challenge: string, relying: Relying): Promise<Verified<Pick<Passkey, 'id' | 'publicKey' | 'counter' | 'transports'>>> {
  try {
    const { verifyRegistrationResponse } = await webauthnLibrary();
    const result = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: relying.origin,
      expectedRPID: relying.rpId,
      requireUserVerification: true,
    });
    if (!result.verified) return { ok: false, reason: 'not verified' };
    const { credential } = result.registrationInfo;
    return { ok: true, value: { id: credential.id, publicKey: Buffer.from(credential.publicKey).toString('base64url'), counter: credential.counter, transports: credential.transports ?? [] } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Checks a sign-in with `passkey`; the new signature counter when valid. */
export async function verifySignIn(response: unknown, challenge: string, relying: Relying, passkey: Passkey): Promise<Verified<{ counter: number }>> {
  if (passkey.rpId !== relying.rpId) return { ok: false, reason: 'passkey of another site' };
  try {
    const { verifyAuthenticationResponse } = await webauthnLibrary();
    const result = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: relying.origin,
      expectedRPID: relying.rpId,
      credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, 'base64url'), counter: passkey.counter, transports: [...passkey.transports] as never },
      requireUserVerification: true,
    });
    if (!result.verified) return { ok: false, reason: 'not verified' };
    return { ok: true, value: { counter: result.authenticationInfo.newCounter } };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The credential id a sign-in answer names. */
export function credentialIdOf(response: unknown): string | undefined {
  const id = (response as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
