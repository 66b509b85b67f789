/**
 * The assertion's key ring when the gateway makes its own keys: what is stored, and the two
 * things that happen to it (made once, rotated). Pure functions; where the ring lives is
 * key-ring-storage.ts.
 *
 * A ring holds three kinds of key:
 *   - `current` signs;
 *   - `next` is published but signs nothing yet. A rotation makes it current, so every
 *     verifier that fetched the JWKS since the previous rotation already knows the key that
 *     signs after this one, and a gateway that has not yet re-read the ring (they re-read it
 *     every minute) keeps signing with a key that is still published;
 *   - `previous` keys were current once; each stays published for `rotation_grace` after it
 *     was replaced, so assertions it signed verify until they expire.
 */
import { generateKeyPairSync, createHash, createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface StoredKey {
  /** The key id: the RFC 7638 thumbprint of the public key, the same on every gateway. */
  readonly kid: string;
  /** The private key as a JWK (EC P-256: kty, crv, x, y, d). */
  readonly jwk: JsonWebKey;
  /** Epoch ms it was made. */
  readonly createdAt: number;
  /** Epoch ms it stopped signing (previous keys only). */
  readonly retiredAt?: number;
}

/** The JSON kept in the store (or the key file next to the config). */
export interface StoredKeyRing {
  readonly v: 1;
  readonly current: StoredKey;
  readonly next: StoredKey;
  readonly previous: readonly StoredKey[];
}

/** A key ready to use: the private key for signing and the public JWK for the JWKS. */
export interface RingKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** Public JWK with kid, alg and use, as published. */
  readonly publicJwk: PublishedJwk;
  readonly createdAt: number;
  readonly retiredAt?: number;
}

export interface PublishedJwk {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
  readonly kid: string;
  readonly alg: 'ES256';
  readonly use: 'sig';
}

/** RFC 7638 thumbprint of an EC public key: SHA-256 over its required members in order. */
export function thumbprintOf(publicJwk: { crv?: string; kty?: string; x?: string; y?: string }): string {
  const canonical = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The usable form of a private key (made, read from a file, or from the store). */
export function ringKeyOf(privateKey: KeyObject, createdAt: number, retiredAt?: number): RingKey {
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = thumbprintOf({ kty, crv, x, y });
  return { kid, privateKey, publicJwk: { kty: kty!, crv: crv!, x: x!, y: y!, kid, alg: 'ES256', use: 'sig' }, createdAt, retiredAt };
}

function newStoredKey(now: number): StoredKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  return { kid: thumbprintOf(jwk), jwk, createdAt: now };
}

/** A new ring: a key that signs and the one that will sign after the first rotation. */
export function newKeyRing(now: number): StoredKeyRing {
  return { v: 1, current: newStoredKey(now), next: newStoredKey(now), previous: [] };
}

/**
 * The ring after `gatehouse keys rotate`: next signs from now on, a new next is made, the
 * old current is kept for `graceMs`; previous keys past their grace are dropped.
 */
export function rotateKeyRing(ring: StoredKeyRing, now: number, graceMs: number): StoredKeyRing {
  return {
    v: 1,
    current: ring.next,
    next: newStoredKey(now),
    previous: [{ ...ring.current, retiredAt: now }, ...ring.previous.filter((key) => !hasOutlivedGrace(key, now, graceMs))],
  };
}

function hasOutlivedGrace(key: StoredKey, now: number, graceMs: number): boolean {
  return key.retiredAt !== undefined && now >= key.retiredAt + graceMs;
}

/** The keys a ring publishes at `now`: current, next, and previous keys within their grace. */
export function publishedKeys(ring: StoredKeyRing, now: number, graceMs: number): StoredKey[] {
  return [ring.current, ring.next, ...ring.previous.filter((key) => !hasOutlivedGrace(key, now, graceMs))];
}

/** The usable form of a stored key; its kid is recomputed, never trusted from storage. */
export function ringKeyFromStored(key: StoredKey): RingKey {
  return ringKeyOf(createPrivateKey({ key: key.jwk, format: 'jwk' }), key.createdAt, key.retiredAt);
}

/** Reads a stored ring; undefined when the text is not one (then a new ring is not made over it). */
export function parseStoredKeyRing(text: string): StoredKeyRing | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const ring = value as Partial<StoredKeyRing>;
  if (ring.v !== 1 || !isStoredKey(ring.current) || !isStoredKey(ring.next) || !Array.isArray(ring.previous) || !ring.previous.every(isStoredKey)) return undefined;
  return ring as StoredKeyRing;
}

function isStoredKey(value: unknown): value is StoredKey {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Partial<StoredKey>;
  const jwk = key.jwk as Record<string, unknown> | undefined;
  return (
    typeof key.kid === 'string' &&
    typeof key.createdAt === 'number' &&
    (key.retiredAt === undefined || typeof key.retiredAt === 'number') &&
    typeof jwk === 'object' &&
    jwk !== null &&
    jwk.kty === 'EC' &&
    jwk.crv === 'P-256' &&
    typeof jwk.d === 'string'
  );
}
