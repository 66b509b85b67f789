/**
 * The assertion's keys: made once and shared through the store (memory and real Redis) or a
 * file next to the config, rotated with the next key published a rotation ahead, previous
 * keys kept for the grace period, and `assertion.key_file`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint } from 'jose';
import { keysFromFile, keysFromRing, KeysFromFileError } from '../../src/assertion/assertion-keys.js';
import { fileKeyRingStorage, storeKeyRingStorage, type KeyRingStorage } from '../../src/assertion/key-ring-storage.js';
import { newKeyRing, publishedKeys, rotateKeyRing, ringKeyFromStored } from '../../src/assertion/key-ring.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { createSilentLogger } from '../../src/log/logger.js';
import { captureLogs } from '../helpers/mail.js';
import { eventually } from '../helpers/raw-http.js';
import { REDIS_URL, redisSkipReason, uniqueRedisPrefix } from '../helpers/redis.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';

const HOUR = 3600_000;

function ringOn(storage: KeyRingStorage, clock: () => number = Date.now, extra: { refreshMs?: number; graceMs?: number } = {}) {
  return keysFromRing({ storage, clock, logger: createSilentLogger(), graceMs: () => extra.graceMs ?? 24 * HOUR, refreshMs: extra.refreshMs });
}

test('a key id is the RFC 7638 thumbprint of its public key, as jose computes it', async () => {
  const ring = newKeyRing(0);
  const key = ringKeyFromStored(ring.current);
  assert.equal(key.kid, await calculateJwkThumbprint(key.publicJwk));
  assert.equal(key.publicJwk.alg, 'ES256');
  assert.equal(key.publicJwk.use, 'sig');
  assert.equal((key.publicJwk as { d?: string }).d, undefined, 'the JWKS never holds the private part');
});

test('rotation: the next key signs, was published before, and the old one stays for the grace period only', () => {
  const ring = newKeyRing(0);
  const rotated = rotateKeyRing(ring, 10 * HOUR, 24 * HOUR);
  assert.equal(rotated.current.kid, ring.next.kid, 'the key that signs now was published as next');
  assert.notEqual(rotated.next.kid, ring.next.kid);
  assert.deepEqual(publishedKeys(rotated, 10 * HOUR, 24 * HOUR).map((key) => key.kid), [ring.next.kid, rotated.next.kid, ring.current.kid]);
  assert.deepEqual(publishedKeys(rotated, 34 * HOUR - 1, 24 * HOUR).map((key) => key.kid).includes(ring.current.kid), true, 'until the grace ends');
  assert.deepEqual(publishedKeys(rotated, 34 * HOUR, 24 * HOUR).map((key) => key.kid).includes(ring.current.kid), false, 'then gone');
  const twice = rotateKeyRing(rotated, 40 * HOUR, 24 * HOUR);
  assert.deepEqual(twice.previous.map((key) => key.kid), [rotated.current.kid], 'a previous key past its grace is dropped at the next rotation');
});

test('the JWKS drops a previous key when its grace ends, without a rotation', async () => {
  let now = 1_000_000;
  const storage = storeKeyRingStorage(createMemoryStore({ clock: () => now }));
  const keys = ringOn(storage, () => now, { graceMs: HOUR });
  await keys.start();
  const first = keys.signingKey()!.kid;
  await keys.rotate();
  assert.ok(keys.jwks().keys.some((key) => key.kid === first));
  now += HOUR;
  assert.ok(!keys.jwks().keys.some((key) => key.kid === first));
  keys.stop();
});

async function sharedRingTests(storeOf: () => Promise<KeyValueStore>): Promise<void> {
  test('two gateways starting at once make one ring and sign with the same key', async () => {
    const stores = [await storeOf(), await storeOf()];
    const [a, b] = stores.map((store) => ringOn(storeKeyRingStorage(store)));
    await Promise.all([a!.start(), b!.start()]);
    assert.ok(a!.signingKey());
    assert.equal(a!.signingKey()!.kid, b!.signingKey()!.kid);
    assert.deepEqual(a!.jwks(), b!.jwks());
    a!.stop();
    b!.stop();
  });

  test('a rotation on one gateway: the other still publishes the new signing key, and signs with it after its refresh', async () => {
    const [storeA, storeB] = [await storeOf(), await storeOf()];
    const a = ringOn(storeKeyRingStorage(storeA));
    await a.start();
    const b = ringOn(storeKeyRingStorage(storeB), Date.now, { refreshMs: 20 });
    await b.start();
    const before = b.signingKey()!.kid;
    const overview = await a.rotate();
    const now = overview.keys.find((key) => key.state === 'signing')!.kid;
    assert.notEqual(now, before);
    assert.ok(b.jwks().keys.some((key) => key.kid === now), 'verifiers that ask B already know the key A signs with');
    assert.ok(a.jwks().keys.some((key) => key.kid === before), 'and A still publishes the key B signs with until B refreshes');
    await eventually(() => b.signingKey()?.kid === now, 2000, 'B signs with the rotated key');
    a.stop();
    b.stop();
  });

  test('a ring gone from the store (Redis restarted without its data) is put back as it was: the signing key and the JWKS stay', async () => {
    const store = await storeOf();
    const storage = storeKeyRingStorage(store);
    const keys = ringOn(storage, Date.now, { refreshMs: 20 });
    await keys.start();
    const signing = keys.signingKey()!.kid;
    const jwks = keys.jwks();
    await store.delete('assertion:keys');
    // The next refresh finds no ring and stores one; the gateway then signs with what is stored.
    await eventually(async () => (await storage.read())?.current.kid === keys.signingKey()?.kid, 2000, 'a ring stored again and in use');
    assert.equal(keys.signingKey()!.kid, signing, 'the same key signs (a new one was never published: apps would refuse it)');
    assert.deepEqual(keys.jwks(), jwks, 'the JWKS apps cached stays true');
    keys.stop();
  });

  test('a ring that cannot be read is never replaced by a new one (apps trust its keys)', async () => {
    const store = await storeOf();
    await store.set('assertion:keys', '{"v":1,"garbage":true}', HOUR);
    const logs = captureLogs();
    const keys = keysFromRing({ storage: storeKeyRingStorage(store), clock: Date.now, logger: logs.logger, graceMs: () => HOUR });
    await keys.start();
    assert.equal(keys.signingKey(), undefined, 'nothing signs: requests that need an assertion get 503');
    assert.equal(await store.get('assertion:keys'), '{"v":1,"garbage":true}');
    assert.ok(logs.records().some((line) => line.event === 'assertion.keys_unavailable' && /remove it to make new keys/.test(String(line.error))));
    keys.stop();
  });
}

describe('a ring shared through the memory store', async () => {
  const shared = createMemoryStore();
  await sharedRingTests(async () => shared);
});

describe('a ring shared through Redis', async () => {
  const skip = await redisSkipReason();
  if (skip) {
    test('Redis ring', { skip }, () => undefined);
    return;
  }
  const prefix = uniqueRedisPrefix();
  const opened: KeyValueStore[] = [];
  await sharedRingTests(async () => {
    const store = createRedisStore({ url: REDIS_URL, prefix });
    opened.push(store);
    await eventually(() => store.isReady(), 2000, 'Redis connects');
    return store;
  });
  test('close the Redis connections', async () => {
    await Promise.all(opened.map((store) => store.close()));
  });
});

describe('a ring kept next to the config (memory store)', () => {
  test('is made once, readable by the gateway only, and survives a restart', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
    const file = join(directory, 'gatehouse-assertion-keys.json');
    const first = ringOn(fileKeyRingStorage(file));
    await first.start();
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const kid = first.signingKey()!.kid;
    first.stop();
    const restarted = ringOn(fileKeyRingStorage(file));
    await restarted.start();
    assert.equal(restarted.signingKey()!.kid, kid);
    await restarted.rotate();
    assert.equal(statSync(file).mode & 0o777, 0o600, 'a rotation keeps the file private');
    assert.notEqual(JSON.parse(readFileSync(file, 'utf8')).current.kid, kid);
    restarted.stop();
  });

  test('a corrupt file is left alone and reported', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
    const file = join(directory, 'gatehouse-assertion-keys.json');
    writeFileSync(file, 'not json');
    const logs = captureLogs();
    const keys = keysFromRing({ storage: fileKeyRingStorage(file), clock: Date.now, logger: logs.logger, graceMs: () => HOUR });
    await keys.start();
    assert.equal(keys.signingKey(), undefined);
    assert.equal(readFileSync(file, 'utf8'), 'not json');
    keys.stop();
  });
});

test('a store that is down at start: nothing signs, and the keys load once it answers', async () => {
  let up = false;
  const store = createMemoryStore();
  const storage = storeKeyRingStorage(store);
  const flaky: KeyRingStorage = {
    where: 'a store that is down',
    read: () => (up ? storage.read() : Promise.reject(new Error('ECONNREFUSED'))),
    create: (ring) => storage.create(ring),
    replace: (ring) => storage.replace(ring),
  };
  const keys = keysFromRing({ storage: flaky, clock: Date.now, logger: createSilentLogger(), graceMs: () => HOUR, retryMs: 10 });
  await keys.start();
  assert.equal(keys.signingKey(), undefined);
  assert.deepEqual(keys.jwks().keys, []);
  up = true;
  await eventually(() => keys.signingKey() !== undefined, 2000, 'the keys load when the store is back');
  keys.stop();
});

test('assertion.key_file: the first key signs, all are published, and rotation is the file’s', async () => {
  const [first, second] = [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey];
  const keys = keysFromFile('/etc/gatehouse/assertion.pem', [first, second]);
  const kids = keys.jwks().keys.map((key) => key.kid);
  assert.equal(kids.length, 2);
  assert.equal(keys.signingKey()!.kid, kids[0]);
  await assert.rejects(keys.rotate(), (error: unknown) => error instanceof KeysFromFileError && /put a new key first in that file/.test(error.message));
});
