/**
 * Where a gateway-made key ring lives (SPEC section 6): in the store, so every gateway on one
 * Redis signs with the same keys; in a file next to the config for the memory store, so a
 * restart keeps the keys apps have cached; or, when that file cannot be written, in this
 * process only (a warning says so). One contract: read, create once, replace.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import type { KeyValueStore } from '../store/key-value-store.js';
import { parseStoredKeyRing, type StoredKeyRing } from './key-ring.js';

export interface KeyRingStorage {
  /** Says where, for logs and `gatehouse keys` ("the store", a file name, "this process"). */
  readonly where: string;
  /** The ring, or undefined when none was made yet. Rejects when it cannot be read. */
  read(): Promise<StoredKeyRing | undefined>;
  /** Stores `ring` unless one exists; resolves with the ring stored now (ours, or the one another gateway made first). */
  create(ring: StoredKeyRing): Promise<StoredKeyRing>;
  /** Replaces the ring (a rotation). */
  replace(ring: StoredKeyRing): Promise<void>;
}

/** A stored ring that is not one: never overwritten by a new ring, which would drop keys apps trust. */
export class UnreadableKeyRingError extends Error {
  constructor(where: string) {
    super(`the assertion key ring in ${where} cannot be read; remove it to make new keys`);
    this.name = 'UnreadableKeyRingError';
  }
}

const STORE_KEY = 'assertion:keys';
// Every store write has a TTL. A ring outlives any deployment's rotation schedule; were it to
// expire, the next gateway to look makes a new one and verifiers fetch the new JWKS.
const STORE_TTL_MS = 400 * 24 * 3600_000;

function parseOrThrow(text: string, where: string): StoredKeyRing {
  const ring = parseStoredKeyRing(text);
  if (!ring) throw new UnreadableKeyRingError(where);
  return ring;
}

/** The ring under `assertion:keys` in the store (Redis: shared by every gateway). */
export function storeKeyRingStorage(store: KeyValueStore): KeyRingStorage {
  const where = 'the session store (key assertion:keys)';
  return {
    where,
    async read() {
      const text = await store.get(STORE_KEY);
      return text === undefined ? undefined : parseOrThrow(text, where);
    },
    async create(ring) {
      if (await store.add(STORE_KEY, JSON.stringify(ring), STORE_TTL_MS)) return ring;
      const winner = await store.get(STORE_KEY);
      return winner === undefined ? ring : parseOrThrow(winner, where);
    },
    async replace(ring) {
      await store.set(STORE_KEY, JSON.stringify(ring), STORE_TTL_MS);
    },
  };
}

/** The ring in a JSON file readable by the gateway's user only (memory store: next to the config). */
export function fileKeyRingStorage(file: string): KeyRingStorage {
  async function readText(): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
  return {
    where: file,
    async read() {
      const text = await readText();
      return text === undefined ? undefined : parseOrThrow(text, file);
    },
    async create(ring) {
      try {
        // `wx`: only if absent, so two gateways started at once keep one ring.
        await writeFile(file, `${JSON.stringify(ring)}\n`, { flag: 'wx', mode: 0o600 });
        return ring;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        return parseOrThrow((await readText()) ?? '', file);
      }
    },
    async replace(ring) {
      // A whole file or the old one, never half of one: write aside, then rename over.
      const aside = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(aside, `${JSON.stringify(ring)}\n`, { mode: 0o600 });
        await rename(aside, file);
      } catch (error) {
        await unlink(aside).catch(() => undefined);
        throw error;
      }
    },
  };
}

/** The ring in this process only: lost at exit. For tests, and when the file cannot be written. */
export function processKeyRingStorage(): KeyRingStorage {
  let ring: StoredKeyRing | undefined;
  return {
    where: 'this process (lost at restart)',
    read: async () => ring,
    async create(candidate) {
      ring ??= candidate;
      return ring;
    },
    async replace(next) {
      ring = next;
    },
  };
}
