/**
 * The gateway's live view of the invitations file (SPEC section 2, `allow: invited`): who is
 * invited to which route until when, reloads when the file changes, and an invalid file that
 * keeps the last good list.
 */
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/log/logger.js';
import { serializeInvitationFile, type Invitation } from '../../src/invitations/invitation-file.js';
import { createInvitationRegistry, type InvitationRegistry } from '../../src/invitations/invitation-registry.js';
import { addOrUpdateInvitation, removeInvitation } from '../../src/invitations/invitation-store.js';

const NOW = Date.parse('2025-01-15T12:00:00Z');

function invitation(email: string, overrides: Partial<Invitation> = {}): Invitation {
  return { email, routes: ['wiki'], expiresAt: null, ...overrides };
}

function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { logger, lines, events: () => lines.map((line) => line.event) };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

let directory: string;
let file: string;
let registry: InvitationRegistry | undefined;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gatehouse-registry-'));
  file = join(directory, 'guests.yaml');
});

afterEach(async () => {
  registry?.close();
  registry = undefined;
  await rm(directory, { recursive: true, force: true });
});

describe('invitation registry', () => {
  test('a listed address is invited to its routes only, and an unlisted one to none', async () => {
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com', { routes: ['wiki', 'docs'] })]));
    registry = createInvitationRegistry({ file, logger: captureLogs().logger, clock: () => NOW });
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), true);
    assert.equal(registry.isInvited('bob@example.com', 'docs'), true);
    assert.equal(registry.isInvited('bob@example.com', 'admin'), false);
    assert.equal(registry.isInvited('carol@example.com', 'wiki'), false);
    // Addresses are compared as the rest of the gateway compares them.
    assert.equal(registry.isInvited(' Bob@EXAMPLE.com', 'wiki'), true);
    assert.equal(registry.isInvited('not an address', 'wiki'), false);
  });

  test('an invitation stops at its expiry instant, with no reload needed', async () => {
    const expiresAt = new Date(NOW + 60_000);
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com', { expiresAt })]));
    let now = NOW;
    registry = createInvitationRegistry({ file, logger: captureLogs().logger, clock: () => now });
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), true);
    now = expiresAt.getTime() - 1;
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), true);
    now = expiresAt.getTime();
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), false);
    // Still listed, for reports.
    assert.deepEqual(registry.list().map((entry) => entry.email), ['bob@example.com']);
  });

  test('a missing file means no invitations, and the file is picked up once it appears', async () => {
    const logs = captureLogs();
    registry = createInvitationRegistry({ file, logger: logs.logger, pollIntervalMs: 100 });
    assert.deepEqual(registry.list(), []);
    await addOrUpdateInvitation(file, invitation('bob@example.com'));
    await eventually(() => registry!.isInvited('bob@example.com', 'wiki'), 'loading the new file');
    assert.ok(logs.lines.some((line) => line.event === 'invitations.reloaded' && line.count === 1));
  });

  test('a change to the file is picked up without a restart', async () => {
    await addOrUpdateInvitation(file, invitation('bob@example.com'));
    registry = createInvitationRegistry({ file, logger: captureLogs().logger });
    await addOrUpdateInvitation(file, invitation('carol@example.com'));
    await eventually(() => registry!.isInvited('carol@example.com', 'wiki'), 'reloading after invite');
    await removeInvitation(file, 'bob@example.com');
    await eventually(() => !registry!.isInvited('bob@example.com', 'wiki'), 'reloading after uninvite');
  });

  test('the poll alone notices a change when the directory cannot be watched', async () => {
    // The directory does not exist yet, so `fs.watch` fails and only the poll is left.
    const nested = join(directory, 'later', 'guests.yaml');
    const logs = captureLogs();
    registry = createInvitationRegistry({ file: nested, logger: logs.logger, pollIntervalMs: 50, debounceMs: 10 });
    assert.ok(logs.events().includes('invitations.watch_failed'));
    await mkdir(join(directory, 'later'));
    await writeFile(nested, serializeInvitationFile([invitation('bob@example.com'), invitation('carol@example.com')]));
    await eventually(() => registry!.list().length === 2, 'reloading');
  });

  test('an invalid file is logged with its errors and the previous invitations are kept', async () => {
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com')]));
    const logs = captureLogs();
    registry = createInvitationRegistry({ file, logger: logs.logger });
    await writeFile(file, '- email: carol@example.com\n  routes: [wiki]\n  expire: 2025-01-01T00:00:00Z\n');
    await eventually(() => logs.events().includes('invitations.invalid'), 'logging the invalid file');
    const logged = logs.lines.find((line) => line.event === 'invitations.invalid')!;
    assert.equal(logged.level, 'error');
    assert.deepEqual(logged.errors, [`${file}:3 [0].expire: unknown key "expire", did you mean "expires"?`]);
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), true);
    assert.equal(registry.isInvited('carol@example.com', 'wiki'), false);
    assert.throws(() => registry!.reload(), /unknown key "expire"/);
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), true);

    // Fixed: the next change is loaded.
    await writeFile(file, serializeInvitationFile([invitation('carol@example.com')]));
    await eventually(() => registry!.isInvited('carol@example.com', 'wiki'), 'reloading the fixed file');
    assert.equal(registry.isInvited('bob@example.com', 'wiki'), false);
  });

  test('an invalid file at creation is an error, so start-up can refuse it', async () => {
    await writeFile(file, '- email: bob@\n  routes: [wiki]\n');
    assert.throws(() => createInvitationRegistry({ file, logger: captureLogs().logger }), /guests\.yaml:1 \[0\]\.email: is not an email address/);
  });

  test('reload reads the file at once and logs the count', async () => {
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com')]));
    const logs = captureLogs();
    registry = createInvitationRegistry({ file, logger: logs.logger, pollIntervalMs: 60_000 });
    registry.close();
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com'), invitation('carol@example.com')]));
    registry.reload();
    assert.equal(registry.list().length, 2);
    assert.deepEqual(logs.lines.filter((line) => line.event === 'invitations.reloaded').map((line) => line.count), [2]);
  });

  test('the list cannot be changed by its readers', async () => {
    await writeFile(file, serializeInvitationFile([invitation('bob@example.com')]));
    registry = createInvitationRegistry({ file, logger: captureLogs().logger });
    const list = registry.list() as Invitation[];
    assert.throws(() => list.push(invitation('eve@example.com')));
    assert.throws(() => (list[0]!.routes as string[]).push('admin'));
    assert.equal(registry.isInvited('bob@example.com', 'admin'), false);
  });
});
