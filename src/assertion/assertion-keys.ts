/**
 * The assertion's keys at run time: which key signs, and which are published in the JWKS
 * (`/.gatehouse/jwks.json`, the admin listener's `/jwks.json`). Two sources:
 *
 *   - `assertion.key_file`: the keys in that PEM file, the first signing; ops rotate by
 *     putting a new key first and reloading (SIGHUP);
 *   - otherwise a ring the gateway makes once (key-ring.ts) and keeps in its storage
 *     (key-ring-storage.ts), re-read every minute so a `gatehouse keys rotate` on one gateway
 *     reaches the others. When the storage cannot be read at start (Redis down), reading is
 *     retried; until it succeeds nothing can be signed, and signed-in requests are answered
 *     503 like any request the store cannot answer.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { newKeyRing, publishedKeys, ringKeyFromStored, ringKeyOf, rotateKeyRing, type PublishedJwk, type RingKey, type StoredKeyRing } from './key-ring.js';
import { UnreadableKeyRingError, type KeyRingStorage } from './key-ring-storage.js';

export type KeyState = 'signing' | 'next' | 'previous';

/** One key as `gatehouse keys` lists it. */
export interface KeyDescription {
  readonly kid: string;
  readonly state: KeyState;
  readonly createdAt: number | undefined;
  /** Previous keys: when they leave the JWKS. */
  readonly publishedUntil?: number;
}

export interface KeysOverview {
  /** Where the keys come from: the key file, the store, a file next to the config, this process. */
  readonly source: string;
  readonly keys: readonly KeyDescription[];
}

export interface AssertionKeys {
  /** The key that signs now; undefined until the ring could be read. */
  signingKey(): RingKey | undefined;
  /** The JSON Web Key Set apps verify with. */
  jwks(): { readonly keys: readonly PublishedJwk[] };
  overview(): KeysOverview;
  /** Next becomes the signing key; the old one stays published for the grace period. */
  rotate(): Promise<KeysOverview>;
  /** Reads (or makes) the keys; resolves when that is done or has failed (then retried). */
  start(): Promise<void>;
  stop(): void;
}

/** `gatehouse keys rotate` with `assertion.key_file`: the file is the only truth. */
export class KeysFromFileError extends Error {
  constructor(file: string) {
    super(`the assertion keys come from ${file} (assertion.key_file): put a new key first in that file and reload the gateway (SIGHUP)`);
    this.name = 'KeysFromFileError';
  }
}

/** No key could be read yet (the store is down): fail closed. */
export class KeysUnavailableError extends Error {
  constructor() {
    super('the assertion signing keys could not be read from the store yet');
    this.name = 'KeysUnavailableError';
  }
}

const FIRST_RETRY_MS = 50;
const QUIET_FAILURE_MS = 2_000;
const EMPTY_JWKS = { keys: [] as PublishedJwk[] };

/** The keys of `assertion.key_file`, already parsed: fixed for the life of this object. */
export function keysFromFile(file: string, privateKeys: readonly KeyObject[]): AssertionKeys {
  const keys = privateKeys.map((key) => ringKeyOf(key, 0));
  const jwks = { keys: keys.map((key) => key.publicJwk) };
  const overview: KeysOverview = {
    source: file,
    keys: keys.map((key, index) => ({ kid: key.kid, state: index === 0 ? 'signing' : 'previous', createdAt: undefined })),
  };
  return {
    signingKey: () => keys[0],
    jwks: () => jwks,
    overview: () => overview,
    rotate: () => Promise.reject(new KeysFromFileError(file)),
    start: () => Promise.resolve(),
    stop() {},
  };
}

export interface KeyRingOptions {
  readonly storage: KeyRingStorage;
  /** `assertion.rotation_grace` in ms (a reload may change it). */
  readonly graceMs: () => number;
  readonly logger: Logger;
  readonly clock: () => number;
  /** How often the ring is re-read for rotations made by other gateways. */
  readonly refreshMs?: number;
  /** How often a ring that could not be read is tried again. */
  readonly retryMs?: number;
}

/** A ring the gateway makes once and shares through `storage`. */
export function keysFromRing(options: KeyRingOptions): AssertionKeys {
  const { storage, logger, clock } = options;
  const refreshMs = options.refreshMs ?? 60_000;
  const retryMs = options.retryMs ?? 5_000;
  let ring: StoredKeyRing | undefined;
  let signing: RingKey | undefined;
  let published: { keys: PublishedJwk[] } = EMPTY_JWKS;
  let publishedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failingSince: number | undefined;
  let attempts = 0;
  // Parsed keys by kid: a refresh that finds the same ring converts nothing.
  const parsed = new Map<string, RingKey>();

  function usable(stored: StoredKeyRing['current']): RingKey {
    let key = parsed.get(stored.kid);
    if (!key || key.retiredAt !== stored.retiredAt) {
      key = ringKeyFromStored(stored);
      parsed.set(stored.kid, key);
    }
    return key;
  }

  function adopt(next: StoredKeyRing): void {
    const changed = ring === undefined || ring.current.kid !== next.current.kid;
    ring = next;
    signing = usable(next.current);
    publish();
    const live = new Set(next.previous.map((key) => key.kid).concat(next.current.kid, next.next.kid));
    for (const kid of parsed.keys()) if (!live.has(kid)) parsed.delete(kid);
    if (changed) logger.info({ event: 'assertion.keys_loaded', kid: signing.kid, from: storage.where });
  }

  function publish(): void {
    if (!ring) return;
    const now = clock();
    published = { keys: publishedKeys(ring, now, options.graceMs()).map((key) => usable(key).publicJwk) };
    publishedAt = now;
  }

  async function load(): Promise<void> {
    // A ring that vanished from the store (Redis restarted without its data) is put back as
    // this gateway holds it: a new one would sign with a key no app has seen published.
    const stored = (await storage.read()) ?? (await storage.create(ring ?? newKeyRing(clock())));
    adopt(stored);
  }

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(() => void tick(), ms);
    timer.unref();
  }

  // A store still connecting at start-up is not an outage: retry soon, and warn only when
  // the keys stay unreadable for a while or can never be read as they are.
  let warned = false;
  async function tick(): Promise<void> {
    try {
      await load();
      if (warned) logger.info({ event: 'assertion.keys_recovered', from: storage.where });
      failingSince = undefined;
      warned = false;
      attempts = 0;
    } catch (error) {
      failingSince ??= clock();
      attempts += 1;
      if (!warned && (error instanceof UnreadableKeyRingError || clock() - failingSince >= QUIET_FAILURE_MS)) {
        logger.warn({ event: 'assertion.keys_unavailable', from: storage.where, error: error instanceof Error ? error.message : String(error) });
        warned = true;
      }
    }
    schedule(ring === undefined ? Math.min(retryMs, FIRST_RETRY_MS * 2 ** Math.min(attempts, 16)) : refreshMs);
  }

  function describe(): KeysOverview {
    if (!ring) return { source: storage.where, keys: [] };
    const now = clock();
    const grace = options.graceMs();
    return {
      source: storage.where,
      keys: [
        { kid: ring.current.kid, state: 'signing', createdAt: ring.current.createdAt },
        { kid: ring.next.kid, state: 'next', createdAt: ring.next.createdAt },
        ...publishedKeys(ring, now, grace)
          .slice(2)
          .map((key): KeyDescription => ({ kid: key.kid, state: 'previous', createdAt: key.createdAt, publishedUntil: (key.retiredAt ?? now) + grace })),
      ],
    };
  }

  return {
    signingKey: () => signing,
    jwks() {
      // A previous key leaves the JWKS when its grace ends, without waiting for a refresh.
      if (ring && clock() - publishedAt >= 1000) publish();
      return published;
    },
    overview: describe,
    async rotate() {
      // Rotate what the storage holds now, not a copy that another gateway may have rotated.
      const current = (await storage.read()) ?? ring ?? newKeyRing(clock());
      const rotated = rotateKeyRing(current, clock(), options.graceMs());
      await storage.replace(rotated);
      adopt(rotated);
      logger.info({ event: 'assertion.keys_rotated', kid: rotated.current.kid, previous_kid: current.current.kid, from: storage.where });
      return describe();
    },
    async start() {
      await tick();
    },
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
