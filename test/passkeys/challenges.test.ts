/**
 * WebAuthn challenges: ours only (HMAC under the gateway secret), for exactly what they were
 * issued for (purpose, page origin, adding session), for five minutes, and used once across
 * every gateway on the store. The used-once check is what stops a replayed answer from a
 * synced passkey, whose signature counter is always 0.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { CHALLENGE_TTL_MS, createChallenges, type ChallengeBinding } from '../../src/passkeys/challenges.js';

const SECRET = 'a-gateway-secret-with-at-least-32-chars!!';
const SIGN_IN: ChallengeBinding = { purpose: 'sign_in', origin: 'https://wiki.example.com' };

function world() {
  let now = 1_800_000_000_000;
  const kv = createMemoryStore({ clock: () => now });
  const secrets = [SECRET];
  const gateway = () => createChallenges(kv, { secrets: () => secrets, clock: () => now });
  return { kv, secrets, gateway, advance: (ms: number) => (now += ms) };
}

describe('WebAuthn challenges', () => {
  test('a challenge is redeemed once; the second answer with it, on this or another gateway, is refused', async () => {
    const { gateway } = world();
    const [one, two] = [gateway(), gateway()];
    const challenge = one.issue(SIGN_IN);
    assert.equal(await two.redeem(challenge, SIGN_IN), true);
    assert.equal(await one.redeem(challenge, SIGN_IN), false, 'replayed on another gateway');
    assert.equal(await two.redeem(challenge, SIGN_IN), false, 'replayed on the same gateway');
  });

  test('of many parallel redemptions of one challenge exactly one succeeds', async () => {
    const { gateway } = world();
    const challenges = gateway();
    const challenge = challenges.issue(SIGN_IN);
    const results = await Promise.all(Array.from({ length: 20 }, () => challenges.redeem(challenge, SIGN_IN)));
    assert.equal(results.filter(Boolean).length, 1);
  });

  const refused: ReadonlyArray<[string, (c: string) => string, ChallengeBinding]> = [
    ['for another origin (a look-alike or a subdomain page)', (c) => c, { ...SIGN_IN, origin: 'https://evil.wiki.example.com' }],
    ['for another purpose', (c) => c, { ...SIGN_IN, purpose: 'add' }],
    ['with its MAC changed', (c) => c.slice(0, -2) + (c.endsWith('AA') ? 'BB' : 'AA'), SIGN_IN],
    ['with its expiry moved', (c) => c.replace(/\.(\d{13})\./, (_m, t: string) => `.${Number(t) + 60_000}.`), SIGN_IN],
    ['that is not a challenge at all', () => 'bm90IGEgY2hhbGxlbmdl', SIGN_IN],
  ];
  for (const [what, change, binding] of refused) {
    test(`a challenge ${what} is refused`, async () => {
      const { gateway } = world();
      const challenges = gateway();
      const challenge = change(challenges.issue(SIGN_IN));
      assert.equal(challenges.isGenuine(challenge, binding), false);
      assert.equal(await challenges.redeem(challenge, binding), false);
    });
  }

  test('a challenge to add a passkey works only for the session it was issued to', async () => {
    const { gateway } = world();
    const challenges = gateway();
    const binding: ChallengeBinding = { purpose: 'add', origin: SIGN_IN.origin, sessionId: 'session-of-ann' };
    const challenge = challenges.issue(binding);
    assert.equal(await challenges.redeem(challenge, { ...binding, sessionId: 'session-of-mallory' }), false);
    assert.equal(await challenges.redeem(challenge, binding), true);
  });

  test('a challenge lasts CHALLENGE_TTL_MS', async () => {
    const { gateway, advance } = world();
    const challenges = gateway();
    const late = challenges.issue(SIGN_IN);
    const onTime = challenges.issue(SIGN_IN);
    advance(CHALLENGE_TTL_MS - 1);
    assert.equal(await challenges.redeem(onTime, SIGN_IN), true);
    advance(1);
    assert.equal(await challenges.redeem(late, SIGN_IN), false);
  });

  test('issuing and checking write nothing to the store; only redeeming does', async () => {
    const { gateway, kv } = world();
    const challenges = gateway();
    for (let i = 0; i < 50; i += 1) assert.equal(challenges.isGenuine(challenges.issue(SIGN_IN), SIGN_IN), true);
    assert.equal(kv.size, 0);
    await challenges.redeem(challenges.issue(SIGN_IN), SIGN_IN);
    assert.equal(kv.size, 1);
  });

  test('a challenge issued before a secret rotation is still good while the old secret is listed', async () => {
    const { gateway, secrets } = world();
    const challenges = gateway();
    const challenge = challenges.issue(SIGN_IN);
    secrets.unshift('the-new-gateway-secret-with-32-characters!');
    assert.equal(await challenges.redeem(challenge, SIGN_IN), true);
    const other = challenges.issue(SIGN_IN);
    secrets.pop();
    assert.equal(await challenges.redeem(other, SIGN_IN), true, 'issued under the new one');
  });
});
