/**
 * Changes to the invitations file, as `gatehouse invite` / `uninvite` make them: a
 * read-modify-write that is
 *
 * - atomic: the new content goes to a temporary file in the same directory, is fsynced and
 *   renamed over the old one, so a crash (or a full disk) mid-write leaves either the old or
 *   the new file, never half of one — and the gateway watching the file never reads a torn
 *   write;
 * - serialised across processes: an exclusive lock file `<file>.lock` (created with `wx`) is
 *   held around the read-modify-write, so two `invite` commands at the same moment cannot
 *   each read the old list and lose the other's entry. A lock older than `staleLockMs` was
 *   left by a process that died and is taken over.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseInvitationFile, serializeInvitationFile, type Invitation } from './invitation-file.js';
import { normalizeEmailAddress } from '../config/values.js';

export interface InvitationStoreOptions {
  /** Give up waiting for the lock after this long (default 10 s). */
  readonly lockTimeoutMs?: number;
  /** A lock file older than this is considered abandoned and taken over (default 30 s). */
  readonly staleLockMs?: number;
}

/** Thrown when the lock could not be taken within `lockTimeoutMs`. */
export class InvitationFileLockTimeoutError extends Error {
  override readonly name = 'InvitationFileLockTimeoutError';
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_LOCK_MS = 30_000;
// A new file holds guests' addresses: readable by its owner only unless ops chose otherwise
// (an existing file keeps its mode).
const NEW_FILE_MODE = 0o600;

/**
 * Reads the invitations file; a missing file means no invitations. Throws
 * `InvitationFileError` when the file is invalid.
 */
export async function readInvitationFile(file: string): Promise<Invitation[]> {
  const text = await readTextIfExists(file);
  return text === undefined ? [] : parseInvitationFile(text, file);
}

/**
 * Adds a guest, or updates the guest's entry when the address is already invited: the routes
 * are merged (inviting to a second route keeps the first), expiry, inviter and invitation time
 * come from `entry`, and the note is replaced when `entry` has one. Returns the entry as
 * stored. Refuses to touch an invalid file (throws `InvitationFileError`): rewriting it would
 * drop what a person wrote there.
 */
export async function addOrUpdateInvitation(
  file: string,
  entry: Invitation,
  options: InvitationStoreOptions = {},
): Promise<Invitation> {
  const email = normalizeEmailOrThrow(entry.email);
  let stored: Invitation | undefined;
  await updateInvitationFile(
    file,
    (current) => {
      const existing = current.find((invitation) => invitation.email === email);
      stored = {
        ...existing,
        ...entry,
        email,
        routes: [...new Set([...(existing?.routes ?? []), ...entry.routes])],
        ...(entry.note === undefined && existing?.note !== undefined && { note: existing.note }),
      };
      return existing
        ? current.map((invitation) => (invitation === existing ? stored! : invitation))
        : [...current, stored];
    },
    options,
  );
  return stored!;
}

/** Removes a guest's invitation. Returns false when the address was not invited. */
export async function removeInvitation(file: string, email: string, options: InvitationStoreOptions = {}): Promise<boolean> {
  const normalized = normalizeEmailOrThrow(email);
  let removed = false;
  await updateInvitationFile(
    file,
    (current) => {
      const remaining = current.filter((invitation) => invitation.email !== normalized);
      removed = remaining.length !== current.length;
      // Nothing to change: leave the file (and its mtime, which wakes every watcher) alone.
      return removed ? remaining : undefined;
    },
    options,
  );
  return removed;
}

/**
 * The read-modify-write under the lock. `change` gets the current invitations and returns the
 * new list, or `undefined` to leave the file as it is.
 */
export async function updateInvitationFile(
  file: string,
  change: (current: readonly Invitation[]) => readonly Invitation[] | undefined,
  options: InvitationStoreOptions = {},
): Promise<void> {
  await withInvitationFileLock(file, options, async () => {
    const text = await readTextIfExists(file);
    const current = text === undefined ? [] : parseInvitationFile(text, file);
    const next = change(current);
    if (next === undefined) return;
    const serialized = serializeInvitationFile(next);
    // Never write a file the gateway would reject (e.g. an entry without routes): it would
    // keep its old list and the change would silently not apply.
    parseInvitationFile(serialized, file);
    await writeFileAtomically(file, serialized);
  });
}

/** Runs `action` while holding `<file>.lock`; the lock is released however `action` ends. */
export async function withInvitationFileLock<T>(
  file: string,
  options: InvitationStoreOptions,
  action: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(`${file}.lock`, options);
  try {
    return await action();
  } finally {
    await lock.release();
  }
}

interface HeldLock {
  release(): Promise<void>;
}

async function acquireLock(lockPath: string, options: InvitationStoreOptions): Promise<HeldLock> {
  const timeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  const deadline = Date.now() + timeoutMs;
  // Who holds the lock, for a person looking at a stuck one; also lets release check that
  // the lock is still ours before deleting it.
  const token = `${process.pid} ${new Date().toISOString()} ${randomBytes(8).toString('hex')}\n`;
  let delayMs = 5;
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(token);
      } finally {
        await handle.close();
      }
      return { release: () => releaseLock(lockPath, token) };
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
    }
    if (await takeOverStaleLock(lockPath, staleMs)) continue;
    if (Date.now() >= deadline) {
      throw new InvitationFileLockTimeoutError(
        `could not lock ${lockPath} within ${timeoutMs} ms: another gatehouse command is changing the invitations file ` +
          `(delete the lock file if no such command is running)`,
      );
    }
    // Jitter keeps a crowd of waiting processes from retrying in lockstep.
    await sleep(delayMs + Math.random() * delayMs);
    delayMs = Math.min(delayMs * 2, 100);
  }
}

/**
 * Removes a lock older than `staleMs`. The lock is first renamed to a private name, which
 * only one of several competing processes can do; if what was renamed turns out not to be the
 * stale lock (its holder died and a live process locked again in between), it is put back.
 */
async function takeOverStaleLock(lockPath: string, staleMs: number): Promise<boolean> {
  let stale;
  try {
    stale = await fs.stat(lockPath);
  } catch (error) {
    // Released meanwhile: try again at once.
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
  if (Date.now() - stale.mtimeMs < staleMs) return false;
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
  const moved = await fs.stat(aside);
  if (moved.ino !== stale.ino || moved.dev !== stale.dev) {
    // A live lock: give it back unless someone else has locked since (then it is theirs).
    await fs.link(aside, lockPath).catch(() => undefined);
  }
  await fs.unlink(aside).catch(() => undefined);
  return true;
}

async function releaseLock(lockPath: string, token: string): Promise<void> {
  // Only delete our own lock: if we stalled past `staleMs` and another process took it over,
  // deleting theirs would let a third in beside them.
  const content = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
  if (content === token) await fs.unlink(lockPath).catch(() => undefined);
}

/**
 * Replaces `file` with `text` so that readers see the old or the new content, never a mix:
 * temp file in the same directory (rename is atomic only within one file system), fsync the
 * data, rename, fsync the directory so the rename itself survives a power cut.
 */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  const directory = dirname(file);
  const mode = await fs.stat(file).then(
    (stats) => stats.mode & 0o7777,
    (error: unknown) => {
      if (errorCode(error) === 'ENOENT') return NEW_FILE_MODE;
      throw error;
    },
  );
  const temporary = join(directory, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(temporary, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      // `open` applies the umask; set the mode the old file had exactly.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(directory, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some platforms and file systems cannot fsync a directory; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function normalizeEmailOrThrow(email: string): string {
  const normalized = normalizeEmailAddress(email);
  if (!normalized.ok) throw new TypeError(`"${email}" is not an email address: it ${normalized.reason}`);
  return normalized.email;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
