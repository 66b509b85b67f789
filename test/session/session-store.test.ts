import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import session, { type SessionData, type Store } from 'express-session';
import { RedisStore } from 'connect-redis';
import { StoreUnavailableError, type KeyValueStore } from '../../src/store/key-value-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { createSessionStore, readSessionRecord, sessionKey } from '../../src/session/create-session-store.js';
import { MemorySessionStore } from '../../src/session/memory-session-store.js';
import { deleteKeysWithPrefix, readRawKey, redisSkipReason, redisUrl, sleep, uniqueTestPrefix, waitUntil } from '../store/redis-test-support.js';

const LIFETIME_MS = 60_000;

// express-session's Store API is callback-based; these make it awaitable.
const getSession = (store: Store, id: string): Promise<SessionData | null | undefined> =>
  new Promise((resolve, reject) => store.get(id, (error, data) => (error ? reject(error) : resolve(data))));
const setSession = (store: Store, id: string, data: SessionData): Promise<void> =>
  new Promise((resolve, reject) => store.set(id, data, (error?: unknown) => (error ? reject(error) : resolve())));
const destroySession = (store: Store, id: string): Promise<void> =>
  new Promise((resolve, reject) => store.destroy(id, (error?: unknown) => (error ? reject(error) : resolve())));
const touchSession = (store: Store, id: string, data: SessionData): Promise<void> =>
  new Promise((resolve, reject) => {
    assert.ok(store.touch, 'the store implements touch');
    const callback = (error?: unknown): void => (error ? reject(error) : resolve());
    store.touch(id, data, callback as () => void);
  });

/** A session as express-session hands it to the store; `expiresAt` null = browser-session cookie. */
function makeSession(expiresAt: number | null, data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: expiresAt === null ? null : LIFETIME_MS, expires: expiresAt === null ? null : new Date(expiresAt), httpOnly: true, path: '/', sameSite: 'lax', secure: false },
    ...data,
  } as unknown as SessionData;
}

/** What the store should give back: the session as JSON sees it. */
const asStored = (data: SessionData): unknown => JSON.parse(JSON.stringify(data));

interface SessionFixture {
  readonly kv: KeyValueStore;
  readonly store: Store;
  now(): number;
  /** Lets at least `ms` pass for the backend. */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

let idCount = 0;
const newId = (): string => `test-session-${++idCount}-${Math.random().toString(36).slice(2)}`;

function runSessionStoreContract(name: string, makeFixture: () => Promise<SessionFixture>, skip: string | false = false): void {
  describe(`sessions in ${name}`, { skip }, () => {
    function sessionTest(title: string, body: (fixture: SessionFixture) => Promise<void>): void {
      test(title, async () => {
        const fixture = await makeFixture();
        try {
          await body(fixture);
        } finally {
          await fixture.cleanup();
        }
      });
    }

    sessionTest('get of an unknown id gives null without an error', async ({ store }) => {
      assert.equal(await getSession(store, newId()), null);
    });

    sessionTest('a session that was set is returned by get as JSON', async ({ store, now }) => {
      const id = newId();
      const data = makeSession(now() + 30_000, { email: 'guest@partner.example', signedInAt: now() });
      await setSession(store, id, data);
      const stored = await getSession(store, id);
      assert.deepEqual(stored, asStored(data));
      assert.equal(typeof (stored as unknown as { cookie: { expires: unknown } }).cookie.expires, 'string');
    });

    sessionTest('a session written with express-session’s own Cookie reads back as it was written', async ({ store }) => {
      const id = newId();
      // express-session's Cookie takes its options at run time; its typings omit the constructor.
      const CookieWithOptions = session.Cookie as unknown as new (options: session.CookieOptions) => session.Cookie;
      const data = { cookie: new CookieWithOptions({ maxAge: 30_000, httpOnly: true, sameSite: 'lax' }), email: 'guest@partner.example' } as SessionData;
      await setSession(store, id, data);
      assert.deepEqual(await getSession(store, id), asStored(data));
    });

    sessionTest('readSessionRecord returns exactly what get returns, in one read', async ({ kv, store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 30_000, { email: 'guest@partner.example', groups: ['partners'] }));
      assert.deepEqual(await readSessionRecord(kv, id), await getSession(store, id));
      const unknown = newId();
      assert.equal(await getSession(store, unknown), null);
      assert.equal(await readSessionRecord(kv, unknown), undefined);
    });

    sessionTest('destroy removes the session, and destroying an unknown id is not an error', async ({ kv, store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 30_000));
      await destroySession(store, id);
      assert.equal(await getSession(store, id), null);
      assert.equal(await readSessionRecord(kv, id), undefined);
      await destroySession(store, newId());
    });

    sessionTest('the session is kept until its cookie expires', async ({ kv, store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 30_000));
      const ttl = await kv.ttl(sessionKey(id));
      assert.ok(ttl !== undefined && ttl > 28_000 && ttl <= 30_000, `ttl ${ttl}`);
    });

    sessionTest('a session whose cookie has no expiry is kept for the configured lifetime', async ({ kv, store }) => {
      const id = newId();
      await setSession(store, id, makeSession(null));
      const ttl = await kv.ttl(sessionKey(id));
      assert.ok(ttl !== undefined && ttl > LIFETIME_MS - 2_000 && ttl <= LIFETIME_MS, `ttl ${ttl}`);
    });

    sessionTest('setting a session whose cookie has already expired removes it', async ({ store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 30_000));
      await setSession(store, id, makeSession(now() - 1_000));
      assert.equal(await getSession(store, id), null);
    });

    sessionTest('a session is gone once its cookie has expired', async ({ kv, store, now, advance }) => {
      const id = newId();
      // connect-redis stores whole seconds, so one second is the shortest expiry both share.
      await setSession(store, id, makeSession(now() + 1_000));
      assert.notEqual(await getSession(store, id), null);
      await advance(1_100);
      assert.equal(await getSession(store, id), null);
      assert.equal(await readSessionRecord(kv, id), undefined);
    });

    sessionTest('touch moves the expiry to the cookie’s new expiry and keeps the data', async ({ kv, store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 5_000, { email: 'guest@partner.example' }));
      const touched = makeSession(now() + 50_000, { email: 'guest@partner.example' });
      await touchSession(store, id, touched);
      const ttl = await kv.ttl(sessionKey(id));
      assert.ok(ttl !== undefined && ttl > 40_000, `ttl ${ttl}`);
      const stored = (await getSession(store, id)) as unknown as { email: string };
      assert.equal(stored.email, 'guest@partner.example');
    });

    sessionTest('touch does not bring back a session that was destroyed', async ({ store, now }) => {
      const id = newId();
      await setSession(store, id, makeSession(now() + 30_000));
      await destroySession(store, id);
      await touchSession(store, id, makeSession(now() + 30_000));
      assert.equal(await getSession(store, id), null);
    });

    sessionTest('express-session keeps a session across requests through this store, and readSessionRecord sees it', async ({ kv, store }) => {
      const app = express();
      app.use(session({ store, secret: 'a-test-secret-that-is-long-enough-0123', resave: false, saveUninitialized: false, cookie: { maxAge: 30_000 } }));
      app.get('/visit', (req, res) => {
        const visits = ((req.session as unknown as { visits?: number }).visits ?? 0) + 1;
        (req.session as unknown as { visits: number }).visits = visits;
        res.json({ visits });
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const first = await fetch(`http://127.0.0.1:${port}/visit`);
        const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
        assert.deepEqual(await first.json(), { visits: 1 });
        const second = await fetch(`http://127.0.0.1:${port}/visit`, { headers: { cookie } });
        assert.deepEqual(await second.json(), { visits: 2 });
        // The cookie is `connect.sid=s:<id>.<signature>`, URL-encoded.
        const id = decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).replace(/^s:/, '').replace(/\.[^.]*$/, '');
        const record = await readSessionRecord(kv, id);
        assert.equal((record as { visits?: number } | undefined)?.visits, 2);
        assert.deepEqual(record, await getSession(store, id));
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    sessionTest('stored data that is not a session reads as no session', async ({ kv, store }) => {
      for (const text of ['{not json', '"a string"', '[1,2]', '{"email":"no-cookie@example.com"}', 'null']) {
        const id = newId();
        await kv.set(sessionKey(id), text, 30_000);
        assert.equal(await getSession(store, id), null, text);
        assert.equal(await readSessionRecord(kv, id), undefined, text);
      }
    });
  });
}

describe('createSessionStore', () => {
  test('uses the KeyValueStore-backed store for memory', async () => {
    const kv = createMemoryStore();
    try {
      assert.ok(createSessionStore(kv, { lifetimeMs: LIFETIME_MS }) instanceof MemorySessionStore);
    } finally {
      await kv.close();
    }
  });

  test('uses connect-redis on the shared client for Redis', async () => {
    const kv = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: 'p:' });
    try {
      const store = createSessionStore(kv, { lifetimeMs: LIFETIME_MS });
      assert.ok(store instanceof RedisStore);
      assert.equal(store.client, kv.client);
      assert.equal(store.prefix, 'p:sess:');
    } finally {
      await kv.close();
    }
  });

  test('a Redis session store answers StoreUnavailableError at once while Redis is unreachable', async () => {
    const kv = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: uniqueTestPrefix() });
    try {
      const store = createSessionStore(kv, { lifetimeMs: LIFETIME_MS });
      const started = Date.now();
      await assert.rejects(getSession(store, 'id'), StoreUnavailableError);
      await assert.rejects(setSession(store, 'id', makeSession(Date.now() + 30_000)), StoreUnavailableError);
      await assert.rejects(touchSession(store, 'id', makeSession(Date.now() + 30_000)), StoreUnavailableError);
      await assert.rejects(destroySession(store, 'id'), StoreUnavailableError);
      await assert.rejects(readSessionRecord(kv, 'id'), StoreUnavailableError);
      assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
    } finally {
      await kv.close();
    }
  });
});

runSessionStoreContract('the memory store', async () => {
  let time = Date.now();
  const clock = (): number => time;
  const kv = createMemoryStore({ clock });
  return {
    kv,
    store: createSessionStore(kv, { lifetimeMs: LIFETIME_MS, clock }),
    now: clock,
    advance: async (ms) => {
      time += ms;
    },
    cleanup: () => kv.close(),
  };
});

const skip = await redisSkipReason('the Redis session tests');
const runPrefix = uniqueTestPrefix();
let fixtureCount = 0;
after(async () => {
  if (!skip) await deleteKeysWithPrefix(runPrefix);
});

runSessionStoreContract(
  'Redis (connect-redis)',
  async () => {
    fixtureCount += 1;
    const kv = createRedisStore({ url: redisUrl, prefix: `${runPrefix}${fixtureCount}:` });
    await waitUntil(() => kv.isReady(), 'the store has connected');
    return {
      kv,
      store: createSessionStore(kv, { lifetimeMs: LIFETIME_MS }),
      now: Date.now,
      advance: sleep,
      cleanup: async () => {
        await deleteKeysWithPrefix(kv.prefix);
        await kv.close();
      },
    };
  },
  skip,
);

describe('sessions in Redis are where the hot path looks', { skip }, () => {
  test('the session with id X is the JSON string at <prefix>sess:X', async () => {
    fixtureCount += 1;
    const kv = createRedisStore({ url: redisUrl, prefix: `${runPrefix}${fixtureCount}:` });
    try {
      await waitUntil(() => kv.isReady(), 'the store has connected');
      const store = createSessionStore(kv, { lifetimeMs: LIFETIME_MS });
      const data = makeSession(Date.now() + 30_000, { email: 'guest@partner.example' });
      await setSession(store, 'abc123', data);
      const raw = await readRawKey(`${kv.prefix}sess:abc123`);
      assert.equal(raw.value, JSON.stringify(data));
      assert.ok(raw.pttl > 28_000 && raw.pttl <= 30_000, `pttl ${raw.pttl}`);
    } finally {
      await kv.close();
    }
  });
});
