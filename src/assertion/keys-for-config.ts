/**
 * Picks the assertion keys a config asks for (SPEC section 6): `assertion.key_file` if set;
 * otherwise a ring made once and kept in the store — with Redis, shared by every gateway;
 * with the memory store, in `gatehouse-assertion-keys.json` next to the config so a restart
 * keeps the keys apps have cached (or in the process, with a warning, when that directory is
 * not writable).
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { KeyValueStore } from '../store/key-value-store.js';
import { parseEcPrivateKeys } from '../lib/ec-private-keys.js';
import { keysFromFile, keysFromRing, type AssertionKeys } from './assertion-keys.js';
import { fileKeyRingStorage, storeKeyRingStorage, type KeyRingStorage } from './key-ring-storage.js';

/** The file a memory-store gateway keeps its keys in, in the config file's directory. */
export const LOCAL_KEY_RING_FILE = 'gatehouse-assertion-keys.json';

export interface KeysForConfigDeps {
  readonly store: KeyValueStore;
  /** The config file's directory; none in tests that build a gateway from an object. */
  readonly configDir?: string;
  readonly logger: Logger;
  readonly clock: () => number;
  /** `assertion.rotation_grace` now (a reload may change it). */
  readonly graceMs: () => number;
}

/** The keys for `config`; not started (call `start()`). Throws when `key_file` cannot be read. */
export function assertionKeysFor(config: GatewayConfig, deps: KeysForConfigDeps): AssertionKeys {
  const { key_file: keyFile } = config.assertion;
  if (keyFile) return keysFromFile(keyFile, parseEcPrivateKeys(readFileSync(keyFile, 'utf8')));
  return keysFromRing({ storage: ringStorageFor(config, deps), graceMs: deps.graceMs, logger: deps.logger, clock: deps.clock });
}

function ringStorageFor(config: GatewayConfig, deps: KeysForConfigDeps): KeyRingStorage {
  if (config.session.store !== 'memory' || deps.configDir === undefined) return storeKeyRingStorage(deps.store);
  const file = join(deps.configDir, LOCAL_KEY_RING_FILE);
  if (existsSync(file) || isWritableDirectory(deps.configDir)) return fileKeyRingStorage(file);
  deps.logger.warn(
    { event: 'assertion.keys_not_kept', directory: deps.configDir },
    'the config directory is not writable: assertion keys live in this process and change at every restart (set assertion.key_file or use Redis)',
  );
  return storeKeyRingStorage(deps.store);
}

function isWritableDirectory(directory: string): boolean {
  try {
    accessSync(directory, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
