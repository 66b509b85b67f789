import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { createKeyValueStore } from '../../src/store/create-store.js';
import { namedSessions, type NamedSessions } from '../helpers/sessions.js';
import { createSessionDirectory, type SessionDirectory } from '../../src/session/session-directory.js';
import { deleteKeysWithPrefix, redisSkipReason, redisUrl, uniqueTestPrefix, waitUntil } from '../store/redis-test-support.js';

const HOUR = 3_600_000;

interface DirectoryFixture {
  readonly kv: KeyValueStore;
  readonly named: NamedSessions;
  readonly directory: SessionDirectory;
  readonly now: () => number;
  cleanup(): Promise<void>;
}

/** Starts a session through the session owner, and describes it in the directory. */
async function signIn(fixture: DirectoryFixture, id: string, email: string, options: { lifetimeMs?: number; userAgent?: string } = {}): Promise<number> {
  const now = fixture.now();
  const expiresAt = now + (options.lifetimeMs ?? HOUR);
  fixture.named.timeouts.lifetime = options.lifetimeMs ?? HOUR;
  await fixture.named.startAs(id, email, now);
  await fixture.directory.recordSignIn(id, { email, signedInAt: now, expiresAt, clientAddress: '203.0.113.7', userAgent: options.userAgent ?? 'curl/8' });
  return now;
}

function runDirectorySuite(name: string, makeFixture: () => Promise<DirectoryFixture>, options: { skip?: string | false } = {}): void {
  describe(`the session directory on ${name}`, { skip: options.skip ?? false }, () => {
    function directoryTest(title: string, body: (fixture: DirectoryFixture) => Promise<void>): void {
      test(title, async () => {
        const fixture = await makeFixture();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup();
        }
      });
    }

    directoryTest('lists a recorded sign-in with everything an operator needs', async (fixture) => {
      const signedInAt = await signIn(fixture, 's1', 'Guest@Example.com', { userAgent: 'Firefox' });
      const sessions = await fixture.directory.list();
      assert.equal(sessions.length, 1);
      const [session] = sessions;
      assert.deepEqual(session, {
        id: 's1',
        email: 'guest@example.com',
        created: new Date(signedInAt).toISOString(),
        lastSeen: new Date(signedInAt).toISOString(),
        clientAddress: '203.0.113.7',
        userAgent: 'Firefox',
        expiresAt: new Date(signedInAt + HOUR).toISOString(),
      });
    });

    directoryTest('filters by email without regard to case', async (fixture) => {
      await signIn(fixture, 'a1', 'a@example.com');
      await signIn(fixture, 'a2', 'a@example.com');
      await signIn(fixture, 'b1', 'b@example.com');
      assert.deepEqual((await fixture.directory.list({ email: 'A@Example.com' })).map((s) => s.id).sort(), ['a1', 'a2']);
      assert.deepEqual((await fixture.directory.list({ email: 'nobody@example.com' })).map((s) => s.id), []);
      assert.equal((await fixture.directory.list()).length, 3);
    });

    directoryTest('skips and prunes sessions whose record is gone', async (fixture) => {
      await signIn(fixture, 'gone', 'a@example.com');
      await signIn(fixture, 'alive', 'a@example.com');
      await fixture.named.sessions.end('gone'); // logged out, or expired
      assert.deepEqual((await fixture.directory.list()).map((s) => s.id), ['alive']);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:all'), ['alive']);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:email:a@example.com'), ['alive']);
      assert.equal(await fixture.kv.get('sessinfo:gone'), undefined);
    });

    directoryTest('revoke deletes the session record and its directory entries', async (fixture) => {
      await signIn(fixture, 's1', 'a@example.com');
      await signIn(fixture, 's2', 'a@example.com');
      const result = await fixture.directory.revoke('s1');
      assert.deepEqual(result, { count: 1, sessions: [{ id: 's1', email: 'a@example.com' }] });
      assert.equal(await fixture.named.sessions.exists('s1'), false);
      assert.equal(await fixture.kv.get('sessinfo:s1'), undefined);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:email:a@example.com'), ['s2']);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:all'), ['s2']);
      assert.equal(await fixture.named.sessions.exists('s2'), true);
    });

    directoryTest('revoke of an unknown session reports nothing revoked', async (fixture) => {
      assert.deepEqual(await fixture.directory.revoke('no-such-session'), { count: 0, sessions: [] });
    });

    directoryTest('revoke ends a live session even without a directory record', async (fixture) => {
      await fixture.named.startAs('legacy', 'a@example.com', fixture.now());
      assert.deepEqual(await fixture.directory.revoke('legacy'), { count: 1, sessions: [{ id: 'legacy', email: undefined }] });
      assert.equal(await fixture.named.sessions.exists('legacy'), false);
    });

    directoryTest('revokeEmail ends every session of that email and no other', async (fixture) => {
      await signIn(fixture, 'a1', 'a@example.com');
      await signIn(fixture, 'a2', 'a@example.com');
      await signIn(fixture, 'b1', 'b@example.com');
      const result = await fixture.directory.revokeEmail('A@example.com');
      assert.equal(result.count, 2);
      assert.deepEqual(result.sessions.map((s) => s.id).sort(), ['a1', 'a2']);
      assert.equal(await fixture.named.sessions.exists('a1'), false);
      assert.equal(await fixture.named.sessions.exists('a2'), false);
      assert.equal(await fixture.named.sessions.exists('b1'), true);
      assert.deepEqual((await fixture.directory.list()).map((s) => s.id), ['b1']);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:email:a@example.com'), []);
    });

    directoryTest('revokeAll ends every session', async (fixture) => {
      await signIn(fixture, 'a1', 'a@example.com');
      await signIn(fixture, 'b1', 'b@example.com');
      const result = await fixture.directory.revokeAll();
      assert.equal(result.count, 2);
      assert.equal(await fixture.named.sessions.exists('a1'), false);
      assert.equal(await fixture.named.sessions.exists('b1'), false);
      assert.deepEqual(await fixture.directory.list(), []);
      assert.deepEqual(await fixture.kv.setMembers('sessidx:all'), []);
      assert.deepEqual(await fixture.directory.revokeAll(), { count: 0, sessions: [] });
    });

    directoryTest('activity shows as last seen once flushed', async (fixture) => {
      await signIn(fixture, 's1', 'a@example.com');
      const seenAt = fixture.now() + 60_000;
      fixture.directory.recordActivity('s1', seenAt - 1_000);
      fixture.directory.recordActivity('s1', seenAt);
      fixture.directory.recordActivity('s1', seenAt - 2_000); // out of order: the latest wins
      await fixture.directory.flush();
      assert.equal(await fixture.kv.get('sessseen:s1'), String(seenAt));
      assert.equal((await fixture.directory.list())[0]?.lastSeen, new Date(seenAt).toISOString());
    });

    directoryTest('activity of a revoked session writes nothing back', async (fixture) => {
      await signIn(fixture, 's1', 'a@example.com');
      fixture.directory.recordActivity('s1', fixture.now());
      await fixture.directory.revoke('s1');
      await fixture.directory.flush();
      assert.equal(await fixture.kv.get('sessseen:s1'), undefined);
    });
  });
}

/** Wraps `kv` so the test can count the writes that reach it. */
function countingStore(kv: KeyValueStore): { store: KeyValueStore; writes: () => number } {
  const WRITES = new Set(['set', 'add', 'delete', 'consume', 'increment', 'setAdd', 'setRemove']);
  let writes = 0;
  const store = new Proxy(kv, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property === 'string' && WRITES.has(property) && typeof value === 'function') {
        return (...args: unknown[]) => {
          writes += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value;
    },
  });
  return { store, writes: () => writes };
}

runDirectorySuite('the memory store', async () => {
  const now = (): number => 1_700_000_000_000;
  const kv = createMemoryStore({ clock: now });
  const named = namedSessions(kv, { clock: now });
  const directory = createSessionDirectory(kv, { clock: now, sessions: named.sessions });
  return {
    kv,
    named,
    directory,
    now,
    cleanup: async () => {
      await directory.close();
      await kv.close();
    },
  };
});

const skip = await redisSkipReason('the session directory Redis tests');
const runPrefix = uniqueTestPrefix();
let fixtureCount = 0;
after(async () => {
  if (!skip) await deleteKeysWithPrefix(runPrefix);
});

runDirectorySuite(
  'Redis',
  async () => {
    fixtureCount += 1;
    const prefix = `${runPrefix}${fixtureCount}:`;
    const kv = createRedisStore({ url: redisUrl, prefix });
    await waitUntil(() => kv.isReady(), 'the store has connected');
    const named = namedSessions(kv);
    const directory = createSessionDirectory(kv, { sessions: named.sessions });
    return {
      kv,
      named,
      directory,
      now: Date.now,
      cleanup: async () => {
        await directory.close();
        await deleteKeysWithPrefix(prefix);
        await kv.close();
      },
    };
  },
  { skip },
);

describe('the session directory on a configured store', () => {
  test('works on whatever createKeyValueStore picks', async () => {
    const kv = createKeyValueStore('memory');
    const named = namedSessions(kv);
    const directory = createSessionDirectory(kv, { sessions: named.sessions });
    try {
      await named.startAs('s1', 'a@example.com', Date.now());
      await directory.recordSignIn('s1', { email: 'a@example.com', signedInAt: Date.now(), expiresAt: Date.now() + HOUR, clientAddress: '::1', userAgent: 'ua' });
      assert.equal((await directory.list()).length, 1);
      assert.equal((await directory.revokeEmail('a@example.com')).count, 1);
    } finally {
      await directory.close();
      await kv.close();
    }
  });
});

describe('session activity batching', () => {
  // Per session and flush: its last-seen time and its guest's last-seen time (plus one counter
  // per route with requests), however many requests there were.
  const WRITES_PER_SESSION_FLUSH = 2;

  test('many requests on one session make a fixed number of store writes per flush', async () => {
    const time = 1_700_000_000_000;
    const memory = createMemoryStore({ clock: () => time });
    const { store, writes } = countingStore(memory);
    const named = namedSessions(memory, { clock: () => time });
    const directory = createSessionDirectory(store, { clock: () => time, sessions: named.sessions });
    try {
      await named.startAs('busy', 'a@example.com', time);
      await directory.recordSignIn('busy', { email: 'a@example.com', signedInAt: time, expiresAt: time + HOUR, clientAddress: '::1', userAgent: 'ua' });
      const afterSignIn = writes();
      for (let index = 0; index < 1_000; index += 1) directory.recordActivity('busy', time + index);
      assert.equal(writes(), afterSignIn, 'recordActivity never writes by itself');
      await directory.flush();
      assert.equal(writes() - afterSignIn, WRITES_PER_SESSION_FLUSH);
      await directory.flush();
      assert.equal(writes() - afterSignIn, WRITES_PER_SESSION_FLUSH, 'a flush with nothing pending writes nothing');
      for (let index = 0; index < 100; index += 1) directory.recordActivity('busy', time + 5_000 + index, 'wiki');
      await directory.flush();
      assert.equal(writes() - afterSignIn, 2 * WRITES_PER_SESSION_FLUSH + 1, 'plus one counter for the route');
      const [report] = await directory.activity(1, ['wiki']);
      assert.deepEqual(report?.requests, { wiki: 100 });
    } finally {
      await directory.close();
      await memory.close();
    }
  });

  test('several sessions make the same fixed number of writes each per flush', async () => {
    const time = 1_700_000_000_000;
    const memory = createMemoryStore({ clock: () => time });
    const { store, writes } = countingStore(memory);
    const directory = createSessionDirectory(store, { clock: () => time, sessions: namedSessions(memory).sessions });
    try {
      for (const id of ['a', 'b', 'c']) {
        await directory.recordSignIn(id, { email: `${id}@example.com`, signedInAt: time, expiresAt: time + HOUR, clientAddress: '::1', userAgent: 'ua' });
      }
      const before = writes();
      for (let index = 0; index < 300; index += 1) directory.recordActivity(['a', 'b', 'c'][index % 3] ?? 'a', time + index);
      await directory.flush();
      assert.equal(writes() - before, 3 * WRITES_PER_SESSION_FLUSH);
    } finally {
      await directory.close();
      await memory.close();
    }
  });

  test('the timer flushes by itself', async () => {
    const memory = createMemoryStore();
    const directory = createSessionDirectory(memory, { flushIntervalMs: 20, sessions: namedSessions(memory).sessions });
    try {
      const now = Date.now();
      await directory.recordSignIn('s', { email: 'a@example.com', signedInAt: now, expiresAt: now + HOUR, clientAddress: '::1', userAgent: 'ua' });
      directory.recordActivity('s', now + 1);
      const deadline = Date.now() + 2_000;
      while ((await memory.get('sessseen:s')) === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(await memory.get('sessseen:s'), String(now + 1));
    } finally {
      await directory.close();
      await memory.close();
    }
  });

  test('a store outage during a flush is not thrown at the caller', async () => {
    const time = 1_700_000_000_000;
    const memory = createMemoryStore({ clock: () => time });
    const failing: KeyValueStore = { ...memory, get: () => Promise.reject(new Error('down')) };
    const directory = createSessionDirectory(failing, { clock: () => time, sessions: namedSessions(memory).sessions });
    try {
      directory.recordActivity('s', time);
      await directory.flush();
    } finally {
      await directory.close();
      await memory.close();
    }
  });
});
