/**
 * Changing the invitations file (issue 5: `gatehouse invite` / `uninvite`): add, update and
 * remove; no lost entry when separate processes write at once; a crash mid-write never leaves
 * an invalid file; a lock left by a dead process is taken over.
 */
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInvitationFile, serializeInvitationFile, type Invitation } from '../../src/invitations/invitation-file.js';
import {
  addOrUpdateInvitation,
  InvitationFileLockTimeoutError,
  readInvitationFile,
  removeInvitation,
} from '../../src/invitations/invitation-store.js';

const WORKER = fileURLToPath(new URL('./invitation-store-worker.ts', import.meta.url));

function invitation(email: string, overrides: Partial<Invitation> = {}): Invitation {
  return { email, routes: ['wiki'], expiresAt: null, invitedBy: 'ops@example.com', invitedAt: new Date('2025-01-01T00:00:00Z'), ...overrides };
}

function startWorker(args: readonly string[]): ChildProcess & { lines: string[]; waitFor(line: string): Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const waitFor = async (line: string) => {
    const deadline = Date.now() + 30_000;
    while (!lines.includes(line)) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ended before "${line}": ${stderr}`);
      if (Date.now() > deadline) throw new Error(`worker never printed "${line}": ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return Object.assign(child, { lines, waitFor });
}

let directory: string;
let file: string;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-invitations-'));
  file = join(directory, 'guests.yaml');
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('invitation store', () => {
  test('adding to a missing file creates it, readable by its owner only', async () => {
    await addOrUpdateInvitation(file, invitation('Guest@Partner.example'));
    assert.deepEqual(await readInvitationFile(file), [invitation('guest@partner.example')]);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  test('adding an invited address again updates its entry and merges the routes', async () => {
    await addOrUpdateInvitation(file, invitation('bob@example.com', { note: 'first' }));
    await addOrUpdateInvitation(file, invitation('carol@example.com'));
    const stored = await addOrUpdateInvitation(
      file,
      invitation('BOB@example.com', { routes: ['docs'], expiresAt: new Date('2030-01-01T00:00:00Z'), invitedBy: 'lead@example.com' }),
    );
    const expected = invitation('bob@example.com', {
      routes: ['wiki', 'docs'],
      expiresAt: new Date('2030-01-01T00:00:00Z'),
      invitedBy: 'lead@example.com',
      note: 'first',
    });
    assert.deepEqual(stored, expected);
    assert.deepEqual(await readInvitationFile(file), [expected, invitation('carol@example.com')]);
  });

  test('removing an address deletes its entry and says whether there was one', async () => {
    await addOrUpdateInvitation(file, invitation('bob@example.com'));
    await addOrUpdateInvitation(file, invitation('carol@example.com'));
    assert.equal(await removeInvitation(file, ' Bob@Example.com'), true);
    assert.equal(await removeInvitation(file, 'bob@example.com'), false);
    assert.equal(await removeInvitation(join(directory, 'missing.yaml'), 'bob@example.com'), false);
    assert.deepEqual(await readInvitationFile(file), [invitation('carol@example.com')]);
  });

  test('a write keeps the mode of the existing file and leaves no temporary or lock file', async () => {
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com')]));
    await chmod(file, 0o640);
    await addOrUpdateInvitation(file, invitation('carol@example.com'));
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    assert.deepEqual(await readdir(directory), ['guests.yaml']);
  });

  test('an invalid file is never overwritten', async () => {
    const broken = '- email: bob@example.com\n  routes: [wiki]\n  expire: soon\n';
    await writeFile(file, broken);
    await assert.rejects(addOrUpdateInvitation(file, invitation('carol@example.com')), /guests\.yaml:3 \[0\]\.expire: unknown key/);
    assert.equal(await readFile(file, 'utf8'), broken);
    assert.deepEqual(await readdir(directory), ['guests.yaml']);
  });

  test('an entry the gateway would reject is refused before anything is written', async () => {
    await assert.rejects(addOrUpdateInvitation(file, invitation('bob@example.com', { routes: [] })), /at least one route/);
    await assert.rejects(addOrUpdateInvitation(file, invitation('not-an-address')), /is not an email address/);
    assert.deepEqual(await readdir(directory), []);
  });

  test('twelve processes adding at the same moment lose no entry', { timeout: 90_000 }, async () => {
    const emails = Array.from({ length: 12 }, (_, index) => `guest-${index}@example.com`);
    const workers = emails.map((email) => startWorker(['add', file, email]));
    try {
      await Promise.all(workers.map((worker) => worker.waitFor('ready')));
      // All twelve are loaded and waiting: release them together.
      for (const worker of workers) worker.stdin!.write('go\n');
      await Promise.all(workers.map((worker) => worker.waitFor('done')));
      const stored = parseInvitationFile(await readFile(file, 'utf8'), file);
      assert.deepEqual(stored.map((entry) => entry.email).sort(), [...emails].sort());
      assert.deepEqual(await readdir(directory), ['guests.yaml']);
    } finally {
      for (const worker of workers) worker.kill('SIGKILL');
    }
  });

  test('a process killed while writing leaves the previous file intact, and its lock is taken over once stale', { timeout: 60_000 }, async () => {
    await addOrUpdateInvitation(file, invitation('bob@example.com'));
    const before = await readFile(file, 'utf8');
    const worker = startWorker(['crash-mid-write', file]);
    await once(worker, 'exit');
    assert.equal(worker.signalCode, 'SIGKILL');
    assert.equal(await readFile(file, 'utf8'), before);
    assert.deepEqual(await readInvitationFile(file), [invitation('bob@example.com')]);

    // The dead process's lock is fresh: a writer waits for it, then gives up.
    await assert.rejects(
      addOrUpdateInvitation(file, invitation('carol@example.com'), { lockTimeoutMs: 200 }),
      InvitationFileLockTimeoutError,
    );
    // Once older than the stale threshold it is taken over.
    const old = new Date(Date.now() - 31_000);
    await utimes(`${file}.lock`, old, old);
    await addOrUpdateInvitation(file, invitation('carol@example.com'), { lockTimeoutMs: 2000 });
    assert.deepEqual((await readInvitationFile(file)).map((entry) => entry.email), ['bob@example.com', 'carol@example.com']);
    assert.ok(!(await readdir(directory)).includes('guests.yaml.lock'));
  });

  test('killing a writer at random moments never leaves an invalid file', { timeout: 90_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const worker = startWorker(['add-forever', file, `round${round}`]);
      await worker.waitFor('ready');
      await new Promise((resolve) => setTimeout(resolve, 150 + Math.random() * 250));
      worker.kill('SIGKILL');
      await once(worker, 'exit');
      const text = await readFile(file, 'utf8').catch(() => '');
      assert.doesNotThrow(() => parseInvitationFile(text, file), `round ${round}`);
      // The next writer gets in, after the killed one's lock (if any) goes stale.
      await addOrUpdateInvitation(file, invitation(`after-${round}@example.com`), { staleLockMs: 1000, lockTimeoutMs: 5000 });
    }
    const emails = (await readInvitationFile(file)).map((entry) => entry.email);
    for (let round = 0; round < 3; round++) assert.ok(emails.includes(`after-${round}@example.com`));
  });
});
