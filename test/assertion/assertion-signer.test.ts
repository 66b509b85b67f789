/**
 * The assertion signer: the claims of SPEC section 6, and signing kept off the per-request
 * cost (one signature per session and route, reused until close to expiry, shared by
 * concurrent requests), with the gateway's clock injected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, decodeJwt } from 'jose';
import { createAssertionSigner, sessionIdHash, type AssertionFacts } from '../../src/assertion/assertion-signer.js';
import { keysFromRing, KeysUnavailableError, type AssertionKeys } from '../../src/assertion/assertion-keys.js';
import { processKeyRingStorage } from '../../src/assertion/key-ring-storage.js';
import { createSilentLogger } from '../../src/log/logger.js';

const MINUTE = 60_000;
const START = Date.UTC(2026, 11, 1, 9, 0, 0);

const FACTS: AssertionFacts = {
  origin: 'https://wiki.example.com',
  routeName: 'wiki',
  email: 'bob@example.com',
  groups: ['partners'],
  sessionId: 'session-id-secret',
  signedInAt: START - 10 * MINUTE,
  sessionExpiresAt: START + 24 * 60 * MINUTE,
  amr: ['otp'],
};

async function world(ttl = 5 * MINUTE) {
  let now = START;
  const clock = () => now;
  const keys = keysFromRing({ storage: processKeyRingStorage(), clock, logger: createSilentLogger(), graceMs: () => 24 * 60 * MINUTE });
  await keys.start();
  const signer = createAssertionSigner({ keys: () => keys, settings: () => ({ ttl }), clock });
  return { keys, signer, advance: (ms: number) => (now += ms), stop: () => keys.stop() };
}

async function tokenOf(value: string | Promise<string>): Promise<string> {
  return value;
}

test('the claims: who, where, when, how, and a session hash that reveals nothing', async () => {
  const { keys, signer, stop } = await world();
  const token = await tokenOf(signer.assertionFor(FACTS));
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet({ keys: [...keys.jwks().keys] }), {
    issuer: 'https://wiki.example.com',
    audience: 'https://wiki.example.com',
    currentDate: new Date(START),
  });
  assert.deepEqual(protectedHeader, { alg: 'ES256', kid: keys.signingKey()!.kid, typ: 'JWT' });
  assert.equal(payload.sub, 'bob@example.com');
  assert.equal(payload.email, 'bob@example.com');
  assert.deepEqual(payload.groups, ['partners']);
  assert.deepEqual(payload.amr, ['otp']);
  assert.equal(payload.iat, START / 1000);
  assert.equal(payload.nbf, START / 1000);
  assert.equal(payload.exp, START / 1000 + 300);
  assert.equal(payload.auth_time, (START - 10 * MINUTE) / 1000);
  assert.equal(payload.sid, sessionIdHash('session-id-secret'));
  assert.ok(!token.includes('session-id-secret') && !JSON.stringify(payload).includes('session-id-secret'));
  stop();
});

test('reused without signing again (synchronously) until the last minute before expiry', async () => {
  const { signer, advance, stop } = await world();
  const first = signer.assertionFor(FACTS);
  assert.ok(first instanceof Promise, 'the first request signs');
  const token = await first;
  assert.equal(signer.assertionFor(FACTS), token, 'the next request gets the same token at once, not a promise');
  advance(4 * MINUTE - 1);
  assert.equal(signer.assertionFor(FACTS), token, 'still reused just before the last minute');
  advance(1);
  const renewed = signer.assertionFor(FACTS);
  assert.ok(renewed instanceof Promise, 'in the last minute a new one is signed');
  const next = await renewed;
  assert.notEqual(next, token);
  assert.equal(decodeJwt(next).exp, (START + 9 * MINUTE) / 1000);
  stop();
});

test('a short ttl is reused for its first half only', async () => {
  const { signer, advance, stop } = await world(20_000);
  const token = await tokenOf(signer.assertionFor(FACTS));
  advance(9_999);
  assert.equal(signer.assertionFor(FACTS), token);
  advance(1);
  assert.ok(signer.assertionFor(FACTS) instanceof Promise);
  stop();
});

test('never valid after the session ends', async () => {
  const { signer, stop } = await world();
  const token = await tokenOf(signer.assertionFor({ ...FACTS, sessionExpiresAt: START + 90_000 }));
  assert.equal(decodeJwt(token).exp, (START + 90_000) / 1000);
  stop();
});

test('one token per session and route: another route or session gets its own', async () => {
  const { signer, stop } = await world();
  const wiki = await tokenOf(signer.assertionFor(FACTS));
  const files = await tokenOf(signer.assertionFor({ ...FACTS, routeName: 'files', origin: 'https://files.example.com' }));
  const other = await tokenOf(signer.assertionFor({ ...FACTS, sessionId: 'another-session' }));
  assert.equal(decodeJwt(files).aud, 'https://files.example.com');
  assert.notEqual(decodeJwt(other).sid, decodeJwt(wiki).sid);
  assert.equal(new Set([wiki, files, other]).size, 3);
  stop();
});

test('concurrent requests that find no token wait for one signature', async () => {
  const { signer, stop } = await world();
  const asked = Array.from({ length: 20 }, () => signer.assertionFor(FACTS));
  assert.ok(asked.every((value) => value === asked[0]), 'every request got the same pending signature');
  const tokens = await Promise.all(asked);
  assert.equal(new Set(tokens).size, 1);
  stop();
});

test('after a rotation the next request is signed with the new key', async () => {
  const { keys, signer, stop } = await world();
  const before = await tokenOf(signer.assertionFor(FACTS));
  await keys.rotate();
  const after = await tokenOf(signer.assertionFor(FACTS));
  assert.notEqual(decodeProtectedHeader(after).kid, decodeProtectedHeader(before).kid);
  assert.equal(decodeProtectedHeader(after).kid, keys.signingKey()!.kid);
  stop();
});

test('before any key could be read nothing is signed (the request gets 503)', async () => {
  const empty: AssertionKeys = {
    signingKey: () => undefined,
    jwks: () => ({ keys: [] }),
    overview: () => ({ source: 'nowhere', keys: [] }),
    rotate: () => Promise.reject(new Error('no')),
    start: () => Promise.resolve(),
    stop() {},
  };
  const signer = createAssertionSigner({ keys: () => empty, settings: () => ({ ttl: 5 * MINUTE }), clock: () => START });
  await assert.rejects(tokenOf(signer.assertionFor(FACTS)), KeysUnavailableError);
});
