/**
 * The session owner on both stores (memory with a moved clock, real Redis): create, read,
 * touch only if present, end. A touch after an end writes nothing back (the revival attack),
 * and the record lives exactly as long as the session.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';
import { createSessions, type Sessions } from '../../src/session/sessions.js';
import { deleteKeysWithPrefix, readRawKey, redisSkipReason, redisUrl, uniqueTestPrefix, waitUntil } from '../store/redis-test-support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface Fixture {
  readonly kv: KeyValueStore;
  readonly sessions: Sessions;
  readonly timeouts: { lifetime: number; idle_timeout: number | null };
  now(): number;
  cleanup(): Promise<void>;
}

function suite(name: string, makeFixture: () => Promise<Fixture>, options: { skip?: string | false } = {}): void {
  describe(`the session owner on ${name}`, { skip: options.skip ?? false }, () => {
    const sessionTest = (title: string, body: (fixture: Fixture) => Promise<void>) =>
      test(title, async () => {
        const fixture = await makeFixture();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup();
        }
      });

    sessionTest('a created session reads back with its address, times and amr, under a fresh id each time', async ({ sessions, now }) => {
      const signedInAt = now();
      const id = await sessions.create({ email: 'bob@example.com', signedInAt });
      assert.match(id, /^[A-Za-z0-9_-]{32}$/);
      assert.notEqual(await sessions.create({ email: 'bob@example.com', signedInAt }), id);
      assert.deepEqual(await sessions.read(id), { email: 'bob@example.com', signedInAt, expiresAt: signedInAt + HOUR, lastSeenAt: signedInAt, amr: ['otp'] });
      assert.equal(await sessions.exists(id), true);
    });

    sessionTest('end removes the session; reading, ending or touching it again finds nothing', async ({ sessions, now }) => {
      const id = await sessions.create({ email: 'bob@example.com', signedInAt: now() });
      const record = (await sessions.read(id))!;
      assert.equal(await sessions.end(id), true);
      assert.equal(await sessions.read(id), undefined);
      assert.equal(await sessions.end(id), false);
      assert.equal(await sessions.touch(id, record, now()), false, 'a touch never recreates an ended session');
      assert.equal(await sessions.exists(id), false);
    });

    sessionTest('touch writes the new last-seen time over a live session', async ({ sessions, now }) => {
      const id = await sessions.create({ email: 'bob@example.com', signedInAt: now() });
      const record = (await sessions.read(id))!;
      const at = record.signedInAt + 5000;
      assert.equal(await sessions.touch(id, record, at), true);
      assert.equal((await sessions.read(id))!.lastSeenAt, at);
    });

    sessionTest('many touches racing an end never bring the session back', async ({ sessions, now }) => {
      const id = await sessions.create({ email: 'bob@example.com', signedInAt: now() });
      const record = (await sessions.read(id))!;
      const touches = Array.from({ length: 20 }, (_, i) => sessions.touch(id, record, now() + i));
      await sessions.end(id);
      await Promise.all(touches);
      assert.deepEqual(await Promise.all([1, 2, 3].map(() => sessions.touch(id, record, now()))), [false, false, false]);
      assert.equal(await sessions.read(id), undefined);
    });

    sessionTest('the record is kept until the session ends, and with an idle timeout only that long past the last request', async ({ kv, sessions, timeouts, now }) => {
      const plain = await sessions.create({ email: 'a@example.com', signedInAt: now() });
      const plainTtl = (await kv.ttl(`sess:${plain}`))!;
      assert.ok(plainTtl > HOUR - 2000 && plainTtl <= HOUR, `ttl ${plainTtl}`);
      timeouts.idle_timeout = 30 * MINUTE;
      const idle = await sessions.create({ email: 'b@example.com', signedInAt: now() });
      const idleTtl = (await kv.ttl(`sess:${idle}`))!;
      assert.ok(idleTtl > 30 * MINUTE - 2000 && idleTtl <= 30 * MINUTE, `ttl ${idleTtl}`);
    });

    sessionTest('anything under a session key that the owner did not write is no session', async ({ kv, sessions }) => {
      for (const text of ['not json', 'null', '[]', '{"email":"a@example.com"}', '{"v":2,"email":"a@example.com","signedInAt":1,"expiresAt":2,"lastSeenAt":1,"amr":[]}', '{"cookie":{},"email":"a@example.com","signedInAt":1}']) {
        await kv.set('sess:forged', text, MINUTE);
        assert.equal(await sessions.read('forged'), undefined, text);
      }
    });
  });
}

suite('the memory store', async () => {
  let time = 1_700_000_000_000;
  const kv = createMemoryStore({ clock: () => time });
  const timeouts = { lifetime: HOUR, idle_timeout: null as number | null };
  return { kv, sessions: createSessions(kv, { timeouts: () => timeouts, clock: () => time }), timeouts, now: () => (time += 0), cleanup: () => kv.close() };
});

const skip = await redisSkipReason('the session owner Redis tests');
const runPrefix = uniqueTestPrefix();
let fixtures = 0;
after(async () => {
  if (!skip) await deleteKeysWithPrefix(runPrefix);
});

suite(
  'Redis',
  async () => {
    fixtures += 1;
    const prefix = `${runPrefix}${fixtures}:`;
    const kv = createRedisStore({ url: redisUrl, prefix });
    await waitUntil(() => kv.isReady(), 'the store has connected');
    const timeouts = { lifetime: HOUR, idle_timeout: null as number | null };
    return {
      kv,
      sessions: createSessions(kv, { timeouts: () => timeouts }),
      timeouts,
      now: Date.now,
      cleanup: async () => {
        await deleteKeysWithPrefix(prefix);
        await kv.close();
      },
    };
  },
  { skip },
);

describe('where a session lives in Redis', { skip }, () => {
  test('at <prefix>sess:<id>, as versioned JSON with a TTL', async () => {
    const prefix = `${runPrefix}layout:`;
    const kv = createRedisStore({ url: redisUrl, prefix });
    try {
      await waitUntil(() => kv.isReady(), 'the store has connected');
      const sessions = createSessions(kv, { timeouts: () => ({ lifetime: HOUR, idle_timeout: null }) });
      const id = await sessions.create({ email: 'bob@example.com', signedInAt: Date.now() });
      const raw = await readRawKey(`${prefix}sess:${id}`);
      assert.equal(JSON.parse(raw.value!).v, 1);
      assert.equal(JSON.parse(raw.value!).email, 'bob@example.com');
      assert.ok(raw.pttl > 0 && raw.pttl <= HOUR);
    } finally {
      await kv.close();
    }
  });
});
