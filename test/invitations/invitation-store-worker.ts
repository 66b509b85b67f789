/**
 * A separate process that changes the invitations file, for the store's cross-process tests
 * (not a test file itself). Modes:
 *
 * - `add FILE EMAIL`: prints "ready", waits for a line on stdin, adds EMAIL, prints "done";
 * - `crash-mid-write FILE`: takes the lock, writes half a garbage temp file, then kills itself;
 * - `add-forever FILE PREFIX`: adds PREFIX-1@…, PREFIX-2@…, … until killed.
 */
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { addOrUpdateInvitation, withInvitationFileLock } from '../../src/invitations/invitation-store.js';

const [mode, file, argument] = process.argv.slice(2);
if (!mode || !file) throw new Error('usage: invitation-store-worker MODE FILE [ARG]');

const invitation = (email: string) => ({
  email,
  routes: ['wiki'],
  expiresAt: null,
  invitedBy: 'ops@example.com',
  invitedAt: new Date(),
});

if (mode === 'add') {
  process.stdout.write('ready\n');
  process.stdin.once('data', () => {
    process.stdin.pause();
    // Short stale threshold would let racing processes break each other's lock: keep the default.
    void addOrUpdateInvitation(file, invitation(argument!)).then(() => process.stdout.write('done\n'));
  });
} else if (mode === 'crash-mid-write') {
  await withInvitationFileLock(file, {}, async () => {
    const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.crash.tmp`);
    const handle = await open(temporary, 'wx');
    await handle.write('- email: half-writ');
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
  });
} else if (mode === 'add-forever') {
  process.stdout.write('ready\n');
  for (let n = 1; ; n++) await addOrUpdateInvitation(file, invitation(`${argument}-${n}@example.com`), { staleLockMs: 1000 });
} else {
  throw new Error(`unknown mode ${mode}`);
}
