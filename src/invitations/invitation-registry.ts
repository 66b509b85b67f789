/**
 * The gateway's live view of the invitations file: answers `allow: invited` (SPEC section 2)
 * and follows the file as `gatehouse invite` / `uninvite` or a person edit it.
 *
 * Changes are noticed two ways: `fs.watch` on the directory (fast; the directory and not the
 * file, because an atomic write renames a new file over the old one, which a watch on the old
 * inode would never report), and a `fs.watchFile` poll as the fallback for file systems where
 * `fs.watch` says nothing (NFS, some container volumes). Bursts of events are debounced into
 * one reload.
 *
 * A file that becomes invalid is logged and the previous list kept: a typo while editing must
 * not lock every guest out (or, worse, let a half-edited file decide who gets in).
 */
import { readFileSync, watch, watchFile, unwatchFile, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from '../log/logger.js';
import { normalizeEmailAddress } from '../config/values.js';
import { InvitationFileError, parseInvitationFile, type Invitation } from './invitation-file.js';

export interface InvitationRegistry {
  /**
   * True when `email` is listed for `routeName` and the invitation has not expired at the
   * registry's clock. Checked on every request, so an expired invitation stops access at
   * once, also for a session that already exists.
   */
  isInvited(email: string, routeName: string): boolean;
  /** Every invitation as last loaded, expired ones included (for reports). */
  list(): readonly Invitation[];
  /**
   * Reads the file again now and logs `invitations.reloaded`. When it is invalid, logs
   * `invitations.invalid`, keeps the old list and throws the `InvitationFileError`.
   */
  reload(): void;
  /** Stops watching the file. */
  close(): void;
}

export interface InvitationRegistryOptions {
  /** Path of the invitations file. */
  readonly file: string;
  readonly logger: Logger;
  /** Milliseconds since the epoch; `Date.now` by default. */
  readonly clock?: () => number;
  /** Interval of the fallback poll (default 2 s). */
  readonly pollIntervalMs?: number;
  /** Quiet time after a change before reloading (default 50 ms). */
  readonly debounceMs?: number;
}

const DEFAULT_POLL_INTERVAL_MS = 2000;
const DEFAULT_DEBOUNCE_MS = 50;

/**
 * Loads the invitations file and starts watching it. A missing file means no invitations (it
 * is picked up when it appears). Throws `InvitationFileError` when the file exists and is
 * invalid, so start-up and `gatehouse check` fail with the located errors.
 */
export function createInvitationRegistry(options: InvitationRegistryOptions): InvitationRegistry {
  const file = resolve(options.file);
  const { logger } = options;
  const clock = options.clock ?? Date.now;
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;

  let invitations: readonly Invitation[] = [];
  let byEmail = new Map<string, Invitation>();
  let loadedText: string | undefined;
  let closed = false;

  function load(force: boolean): { changed: boolean } {
    const text = readTextIfExists(file) ?? '';
    if (!force && text === loadedText) return { changed: false };
    const parsed = parseInvitationFile(text, file);
    invitations = Object.freeze(parsed.map((invitation) => Object.freeze({ ...invitation, routes: Object.freeze([...invitation.routes]) })));
    byEmail = new Map(invitations.map((invitation) => [invitation.email, invitation]));
    loadedText = text;
    return { changed: true };
  }

  /** Reloads and logs the outcome; returns the error when the file could not be used. */
  function reloadAndLog(force: boolean): unknown {
    try {
      if (load(force).changed) logger.info({ event: 'invitations.reloaded', file, count: invitations.length }, 'invitations reloaded');
      return undefined;
    } catch (error) {
      const errors = error instanceof InvitationFileError ? error.errors : [(error as Error).message];
      logger.error(
        { event: 'invitations.invalid', file, errors, kept: invitations.length },
        'invitations file is invalid; keeping the previous invitations',
      );
      return error;
    }
  }

  load(true);

  let debounceTimer: NodeJS.Timeout | undefined;
  const scheduleReload = () => {
    if (closed) return;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => {
      if (!closed) reloadAndLog(false);
    }, debounceMs);
    debounceTimer.unref();
  };

  const fileName = basename(file);
  let directoryWatcher: FSWatcher | undefined;
  try {
    directoryWatcher = watch(dirname(file), { persistent: false }, (_event, changedName) => {
      // Some platforms do not report the name; then any change in the directory may be ours.
      if (changedName === null || String(changedName) === fileName) scheduleReload();
    });
    directoryWatcher.on('error', (error) => {
      logger.warn({ event: 'invitations.watch_failed', file, error: error.message }, 'watching the invitations file failed; polling instead');
      directoryWatcher?.close();
      directoryWatcher = undefined;
    });
  } catch (error) {
    // E.g. the directory does not exist yet, or inotify watches are exhausted: the poll covers it.
    logger.warn({ event: 'invitations.watch_failed', file, error: (error as Error).message }, 'cannot watch the invitations file; polling instead');
  }
  const onPoll = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) scheduleReload();
  };
  watchFile(file, { persistent: false, interval: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS }, onPoll);

  return {
    isInvited(email, routeName) {
      let invitation = byEmail.get(email);
      if (!invitation) {
        const normalized = normalizeEmailAddress(email);
        invitation = normalized.ok ? byEmail.get(normalized.email) : undefined;
      }
      if (!invitation || !invitation.routes.includes(routeName)) return false;
      return invitation.expiresAt === null || clock() < invitation.expiresAt.getTime();
    },
    list: () => invitations,
    reload() {
      const error = reloadAndLog(true);
      if (error !== undefined) throw error;
    },
    close() {
      closed = true;
      clearTimeout(debounceTimer);
      directoryWatcher?.close();
      unwatchFile(file, onPoll);
    },
  };
}

function readTextIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
