/**
 * Guests' passkeys, in the same KeyValueStore as the sessions (Redis: shared by every
 * gateway):
 *
 * - `passkey:<credential id>`      JSON {@link StoredPasskey}: whose, the public key, the
 *                                  signature counter, name, created and last-used times.
 * - `passkeys:email:<email>`       set of the credential ids of one address.
 * - `passkeys:all`                 set of every credential id (for ops listing them all).
 *
 * Every write in the store has a TTL: a passkey lives {@link PASSKEY_RETENTION_MS} from its
 * last use, and each use renews it. The indexes are descriptions only; a stale id in them is
 * skipped and pruned when listed. No operation needs two keys at once, so in a Redis Cluster
 * they may live on different slots.
 */
import type { KeyValueStore } from '../store/key-value-store.js';

/** A passkey not used for this long is forgotten (each sign-in with it renews it). */
export const PASSKEY_RETENTION_MS = 400 * 24 * 60 * 60 * 1000;
/** How many passkeys one address may have. */
export const MAX_PASSKEYS_PER_ADDRESS = 10;

export interface Passkey {
  /** The credential id, base64url (as WebAuthn gives it). */
  readonly id: string;
  readonly email: string;
  /** COSE public key, base64url. */
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
  /** The relying party (the host name) it was made for. */
  readonly rpId: string;
  /** What the guest called it ("Laptop"), or the browser it was made in. */
  readonly name: string;
  /** Clock time (ms). */
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
}

interface StoredPasskey {
  readonly v: 1;
  readonly email: string;
  readonly publicKey: string;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly rpId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
}

export interface PasskeyStore {
  save(passkey: Passkey): Promise<void>;
  get(id: string): Promise<Passkey | undefined>;
  /** After a sign-in with it: the new counter and the time. */
  recordUse(passkey: Passkey, counter: number, at: number): Promise<void>;
  /** The passkeys of `email`, or of everyone; newest first. */
  list(filter?: { email?: string }): Promise<Passkey[]>;
  /** Removes one; false when there was none (or, with `email`, when it is someone else's). */
  remove(id: string, email?: string): Promise<boolean>;
  /** Removes every passkey of `email`; how many. */
  removeAllOf(email: string): Promise<number>;
}

const CREDENTIAL_ID = /^[A-Za-z0-9_-]{16,1400}$/;

function decode(id: string, raw: string | undefined): Passkey | undefined {
  if (raw === undefined) return undefined;
  let stored: StoredPasskey;
  try {
    stored = JSON.parse(raw) as StoredPasskey;
  } catch {
    return undefined;
  }
  if (stored?.v !== 1 || typeof stored.email !== 'string' || typeof stored.publicKey !== 'string' || typeof stored.counter !== 'number') return undefined;
  return {
    id,
    email: stored.email,
    publicKey: stored.publicKey,
    counter: stored.counter,
    transports: Array.isArray(stored.transports) ? stored.transports.filter((t): t is string => typeof t === 'string') : [],
    rpId: String(stored.rpId),
    name: String(stored.name),
    createdAt: Number(stored.createdAt),
    lastUsedAt: typeof stored.lastUsedAt === 'number' ? stored.lastUsedAt : undefined,
  };
}

function encode(passkey: Passkey): string {
  const stored: StoredPasskey = {
    v: 1,
    email: passkey.email,
    publicKey: passkey.publicKey,
    counter: passkey.counter,
    transports: passkey.transports,
    rpId: passkey.rpId,
    name: passkey.name,
    createdAt: passkey.createdAt,
    ...(passkey.lastUsedAt === undefined ? {} : { lastUsedAt: passkey.lastUsedAt }),
  };
  return JSON.stringify(stored);
}

/** True for a string that can be a credential id (base64url, of a sane length). */
export function isCredentialId(value: unknown): value is string {
  return typeof value === 'string' && CREDENTIAL_ID.test(value);
}

export function createPasskeyStore(kv: KeyValueStore): PasskeyStore {
  const keyOf = (id: string) => `passkey:${id}`;
  // Addresses compare case-insensitively, as everywhere (the sessions hold them lower-cased).
  const sameAddress = (email: string) => email.trim().toLowerCase();
  const emailIndex = (email: string) => `passkeys:email:${sameAddress(email)}`;
  const ALL = 'passkeys:all';

  async function get(id: string): Promise<Passkey | undefined> {
    if (!isCredentialId(id)) return undefined;
    return decode(id, await kv.get(keyOf(id)));
  }

  async function listIds(ids: readonly string[], index: string): Promise<Passkey[]> {
    const found: Passkey[] = [];
    for (const id of ids) {
      const passkey = await get(id);
      if (passkey) found.push(passkey);
      else await kv.setRemove(index, id);
    }
    return found.sort((a, b) => b.createdAt - a.createdAt);
  }

  async function remove(id: string, email?: string): Promise<boolean> {
    const passkey = await get(id);
    if (!passkey || (email !== undefined && sameAddress(passkey.email) !== sameAddress(email))) return false;
    const removed = await kv.delete(keyOf(id));
    await kv.setRemove(emailIndex(passkey.email), id);
    await kv.setRemove(ALL, id);
    return removed;
  }

  return {
    async save(passkey) {
      await kv.set(keyOf(passkey.id), encode(passkey), PASSKEY_RETENTION_MS);
      await kv.setAdd(emailIndex(passkey.email), passkey.id, PASSKEY_RETENTION_MS);
      await kv.setAdd(ALL, passkey.id, PASSKEY_RETENTION_MS);
    },
    get,
    async recordUse(passkey, counter, at) {
      // Only while it still exists: a passkey removed meanwhile stays removed.
      await kv.replace(keyOf(passkey.id), encode({ ...passkey, counter, lastUsedAt: at }), PASSKEY_RETENTION_MS);
      await kv.setAdd(emailIndex(passkey.email), passkey.id, PASSKEY_RETENTION_MS);
      await kv.setAdd(ALL, passkey.id, PASSKEY_RETENTION_MS);
    },
    async list(filter = {}) {
      const index = filter.email === undefined ? ALL : emailIndex(filter.email);
      return listIds(await kv.setMembers(index), index);
    },
    remove,
    async removeAllOf(email) {
      let count = 0;
      for (const id of await kv.setMembers(emailIndex(email))) if (await remove(id, email)) count += 1;
      return count;
    },
  };
}
