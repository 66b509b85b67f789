/**
 * The brute-force bound of SPEC section 4, attacked: with the default limits, an attacker who
 * invents addresses in an allowed domain (every one with fresh per-address limits, none with
 * an inbox it can read) guesses codes from many client addresses for 30 days of gateway time.
 * The test counts the guesses the gateway actually compared (its `otp.failed` lines), scales
 * them to 1,000 client addresses, and computes the attacker's chance of ever having guessed a
 * code. A guest on another client address signs in throughout. docs/security.md has the
 * arithmetic this checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient, hiddenField } from '../helpers/form-client.js';
import { codeFromMail, mailTo, startSignInWorld, submitCode, submitEmail, type SignInWorld } from '../helpers/sign-in-world.js';
import { wrongCode } from '../helpers/codes.js';

const ATTACKER_ADDRESSES = 10;
const DAYS = 30;
const DAY_MS = 86_400_000;
const ASSUMED_ATTACKER_ADDRESSES = 1_000;

/** One attacker client: asks for codes for made-up addresses and guesses until the gateway stops it. */
async function attackForOneDay(world: SignInWorld, address: string, day: number): Promise<void> {
  const client = new FormClient(world.gw.port, 'app.test', { accept: 'text/html' }, address);
  const form = await client.get('/.gatehouse/login');
  const csrf = hiddenField(form.text(), 'csrf');
  for (let n = 0; n < 50; n += 1) {
    const asked = await client.postForm('/.gatehouse/login', { email: `made-up-${address}-${day}-${n}@example.com`, csrf });
    if (asked.status !== 303) return; // 429: this client is stopped for now
    // All five tries of the code at once: parallel guesses must not get past the budgets.
    const guess = wrongCode('1'.repeat(8 - String(n).length) + String(n));
    const answers = await Promise.all(Array.from({ length: 5 }, () => client.postForm('/.gatehouse/verify', { code: guess, csrf })));
    assert.ok(answers.every((answer) => !(answer.headers['set-cookie'] ?? []).some((line) => line.startsWith('gatehouse='))), 'no guess signed in');
  }
  throw new Error(`${address} was never stopped on day ${day}`);
}

test('an attacker inventing addresses from many client addresses has under 1 % in 30 days; a guest elsewhere keeps signing in', { timeout: 300_000 }, async (t) => {
  const world = await startSignInWorld('memory');
  t.after(() => world.close());
  const attackers = Array.from({ length: ATTACKER_ADDRESSES }, (_, i) => `127.0.1.${i + 1}`);
  const guest = new FormClient(world.gw.port, 'app.test', { accept: 'text/html' }, '127.0.2.1');
  let mailsToGuest = 0;

  for (let day = 0; day < DAYS; day += 1) {
    // The attackers at once, as they would be: each one's last request of the day is refused
    // after the gateway's pause (a second), so one after another would take minutes.
    await Promise.all(attackers.map((address) => attackForOneDay(world, address, day)));
    if (day % 10 === 5) {
      // In the middle of the attack, from another address: the guest's sign-in works.
      mailsToGuest += 1;
      const { codePage } = await submitEmail(guest, 'guest@example.com');
      assert.ok(codePage, `the guest could ask for a code on day ${day}`);
      const verified = await submitCode(guest, codePage, codeFromMail(await mailTo(world.smtp, 'guest@example.com', mailsToGuest)));
      assert.ok((verified.headers['set-cookie'] ?? []).some((line) => line.startsWith('gatehouse=')), `the guest signed in on day ${day}`);
    }
    world.advance(DAY_MS + 1000);
  }

  const compared = world.logs.records().filter((line) => line.event === 'otp.failed');
  const perAttackerAddress = new Map<string, number>();
  for (const line of compared) perAttackerAddress.set(String(line.client), (perAttackerAddress.get(String(line.client)) ?? 0) + 1);
  assert.deepEqual([...perAttackerAddress.keys()].sort(), [...attackers].sort(), 'every attacker address was counted as itself');
  const mostPerAddress = Math.max(...perAttackerAddress.values());
  assert.ok(mostPerAddress <= 20 * DAYS, `one client address had ${mostPerAddress} guesses compared in ${DAYS} days`);

  // Scale to 1,000 client addresses; the chance that any one of G guesses at a uniformly
  // random 8-digit code is right: 1 - (1 - 10^-8)^G.
  const guesses = (compared.length / ATTACKER_ADDRESSES) * ASSUMED_ATTACKER_ADDRESSES;
  const odds = 1 - (1 - 1e-8) ** guesses;
  t.diagnostic(`${compared.length} guesses compared from ${ATTACKER_ADDRESSES} addresses in ${DAYS} days; for ${ASSUMED_ATTACKER_ADDRESSES}: ${guesses}, odds ${(odds * 100).toFixed(2)} %`);
  assert.ok(odds < 0.01, `the attacker's odds are ${(odds * 100).toFixed(2)} %`);
  assert.equal(mailsToGuest, 3);
});
