/**
 * Passkeys in a real browser (SPEC section 7). The guest's device is Chromium's virtual
 * WebAuthn authenticator (DevTools protocol `WebAuthn.addVirtualAuthenticator`: a platform
 * authenticator with resident keys and user verification that says yes at once, as a
 * fingerprint reader would), in the tab the guest uses; everything else is a person at
 * the keyboard: typing, clicking, reading the page.
 *
 * Attacks come from outside the browser, the way an attacker sends them: a signed answer
 * captured from a sign-in and sent again, and one made by a page of another origin (a
 * subdomain the attacker controls may ask the browser for the site's passkey) and relayed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { useE2eWorld } from './e2e-world.js';
import { heading, signInFromForm, typeInto } from './guest.js';
import { inspectPage } from './inspect-page.js';
import { request } from '../helpers/servers.js';

interface Device {
  /** The passkeys the device holds. */
  credentials(): Promise<unknown[]>;
  /** The guest puts the device away (a phone in a bag, a key unplugged): the browser finds no authenticator. */
  unplug(): Promise<void>;
  /** And brings it back, with the passkeys it holds. */
  plug(): Promise<void>;
}

const AUTHENTICATOR = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } as const;

/**
 * Gives this tab a passkey-capable device that says yes at once (the guest touches the
 * sensor as soon as asked). It also answers the browser's autofill offer on the email field
 * as soon as the page asks: the guest picking their passkey there.
 */
async function addAuthenticator(page: Page): Promise<Device> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  let authenticatorId: string | undefined = (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR })).authenticatorId;
  let kept: Awaited<ReturnType<typeof credentialsOf>> = [];
  const credentialsOf = async (id: string) => (await cdp.send('WebAuthn.getCredentials', { authenticatorId: id })).credentials;
  return {
    credentials: async () => (authenticatorId === undefined ? kept : credentialsOf(authenticatorId)),
    async unplug() {
      if (authenticatorId === undefined) return;
      kept = await credentialsOf(authenticatorId);
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
      authenticatorId = undefined;
    },
    async plug() {
      if (authenticatorId !== undefined) return;
      authenticatorId = (await cdp.send('WebAuthn.addVirtualAuthenticator', { options: AUTHENTICATOR })).authenticatorId;
      for (const credential of kept) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
    },
  };
}

/** Clicks a button that starts a passkey ceremony, and waits for the page it leads to. */
async function clickAndLand(page: Page, button: string, url: RegExp | string): Promise<void> {
  await Promise.all([page.waitForURL(url), page.getByRole('button', { name: button, exact: true }).click()]);
}

/** What the passkey block says (its live status line). */
async function passkeyStatus(page: Page): Promise<string> {
  const status = page.locator('.passkey-status');
  await status.filter({ hasText: /\S/ }).first().waitFor();
  return (await status.first().innerText()).trim();
}

/** The `Cookie` header the browser would send to `url`. */
async function cookieHeaderFor(page: Page, url: string): Promise<string> {
  return (await page.context().cookies(url)).map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
}

describe('passkeys in a real browser', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('a guest adds a passkey after a code, signs in with it and no mail, removes it, and is asked for a code again', { skip }, async () => {
    const world = suite.world;
    const app = world.url('wiki', '/docs');
    const { page } = await suite.openPage(app);
    const device = await addAuthenticator(page);
    await signInFromForm(page, world, 'ann@example.com');
    assert.equal(await page.locator('#who').innerText(), 'ann@example.com');

    // On their own page: no passkey yet; name one and add it.
    await page.goto(world.url('wiki', '/.gatehouse/'));
    assert.match(await page.locator('main').innerText(), /You have no passkey\./);
    await inspectPage(page, 'guest-page-passkey-add');
    await typeInto(page, 'Name of this passkey (optional)', 'Work laptop');
    await clickAndLand(page, 'Add a passkey', /\?passkey=added$/);
    assert.equal(await page.getByRole('status').first().innerText(), 'Your passkey was added.');
    assert.equal(await page.getByRole('heading', { level: 3, name: 'Work laptop' }).count(), 1);
    assert.equal((await device.credentials()).length, 1, 'the device holds the new passkey');
    await inspectPage(page, 'guest-page-passkey-listed');

    // Sign out, then back in with the passkey: no code, no mail. The browser offers it on the
    // email field; the guest clicks the field and picks it.
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
    assert.equal(await heading(page), 'You are signed out');
    const mailsBefore = world.smtp.received.length;
    await device.unplug();
    await page.goto(app);
    assert.equal(await heading(page), 'Sign in to Team Wiki');
    await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).waitFor();
    await inspectPage(page, 'login-with-passkey');
    await device.plug();
    await clickAndLand(page, 'Sign in with a passkey', app);
    assert.equal(await page.locator('#who').innerText(), 'ann@example.com');
    assert.equal(world.smtp.received.length, mailsBefore, 'no mail was sent');
    const started = await world.gateway.waitForLog((line) => line.event === 'session.started' && Array.isArray(line.amr) && line.amr.join() === 'passkey');
    assert.equal(started.email, 'ann@example.com');

    // The page shows it used; a passkey session may remove it.
    await page.goto(world.url('wiki', '/.gatehouse/'));
    assert.doesNotMatch(await page.locator('.passkey').innerText(), /Not used yet/);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Remove passkey Work laptop' }).click()]);
    assert.match(await page.getByRole('status').first().innerText(), /^The passkey was removed\./);
    assert.match(await page.locator('main').innerText(), /You have no passkey\./);
    await world.gateway.waitForLog((line) => line.event === 'passkey.removed' && line.by === 'guest');

    // Signed out, the device still offers it, and the gateway no longer takes it: a code it is.
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
    // The device offers it on the email field at once; the gateway says no, on the page.
    await page.goto(app);
    assert.match(await passkeyStatus(page), /^This passkey could not be used here\./);
    await world.gateway.waitForLog((line) => line.event === 'passkey.refused' && line.reason === 'unknown_passkey');
    await device.unplug();
    assert.equal(await heading(page), 'Sign in to Team Wiki');
    await world.advanceClock(31_000);
    await signInFromForm(page, world, 'ann@example.com', 2);
    assert.equal(await page.locator('#who').innerText(), 'ann@example.com');
  });

  test('a require: passkey route asks a code session to add a passkey, lands on the URL asked for, and later asks to use it', { skip }, async () => {
    const world = suite.world;
    const deepLink = world.url('vault', '/reports/q3?tab=summary');
    const { page } = await suite.openPage(deepLink);
    const device = await addAuthenticator(page);
    assert.equal(await heading(page), 'Sign in to Vault');
    await signInFromForm(page, world, 'bob@example.com');
    // Signed in by code: not enough here.
    assert.equal(await heading(page), 'Vault asks for a passkey');
    assert.match(page.url(), /\/\.gatehouse\/passkey\?rd=/);
    await inspectPage(page, 'step-up-add');
    await clickAndLand(page, 'Add a passkey', deepLink);
    assert.equal(await page.locator('#who').innerText(), 'bob@example.com');
    assert.equal(await page.locator('#target').innerText(), '/reports/q3?tab=summary');

    // Another day, a code again: this time the page asks for the passkey the guest has.
    await Promise.all([page.waitForEvent('load'), page.goto(world.url('vault', '/.gatehouse/logout'))]);
    await world.advanceClock(31_000);
    // The device is not at hand while the guest signs in by code; then it is.
    await device.unplug();
    await page.goto(deepLink);
    await signInFromForm(page, world, 'bob@example.com', 2);
    assert.equal(await heading(page), 'Vault asks for a passkey');
    // Who is asked, and a way out for a guest whose passkey is elsewhere.
    assert.match(await page.locator('main').innerText(), /You are signed in as bob@example\.com\. Use a different email address/);
    await inspectPage(page, 'step-up-use');
    await device.plug();
    await clickAndLand(page, 'Use your passkey', deepLink);
    assert.equal(await page.locator('#target').innerText(), '/reports/q3?tab=summary');
    await world.gateway.waitForLog((line) => line.event === 'passkey.used' && line.email === 'bob@example.com' && line.step_up === true);
  });

  test('a signed answer sent a second time, or made on a page of another origin, is refused', { skip }, async () => {
    const world = suite.world;
    const app = world.url('wiki', '/');
    const { page } = await suite.openPage(app);
    await addAuthenticator(page);
    await signInFromForm(page, world, 'cid@example.com');
    await page.goto(world.url('wiki', '/.gatehouse/'));
    await clickAndLand(page, 'Add a passkey', /\?passkey=added$/);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);

    // A real sign-in (the email field's passkey offer, taken at once), watched on the wire.
    const sent = page.waitForRequest((request) => request.url().endsWith('/.gatehouse/passkeys/sign-in') && request.method() === 'POST');
    await page.goto(app);
    await page.waitForURL(app);
    assert.equal(await page.locator('#who').innerText(), 'cid@example.com');
    const captured = (await sent).postData()!;
    const cookie = await cookieHeaderFor(page, app);
    const origin = new URL(app).origin;
    // The attacker's own client, straight to the gateway with the site's name.
    const post = (path: string, body: string) =>
      request(world.port, { method: 'POST', path, headers: { host: new URL(app).host, 'content-type': 'application/json', accept: 'application/json', origin, cookie }, body });
    const relay = (body: string) => post('/.gatehouse/passkeys/sign-in', body);

    // Replayed with the same cookies and CSRF token: the challenge was used.
    const replayed = await relay(captured);
    assert.equal(replayed.status, 400);
    const replayRefusal = JSON.parse(replayed.body.toString()) as { error: string; reason: string };
    assert.equal(replayRefusal.error, 'passkey_refused');
    // This device counts its signatures, so the stale counter gives it away first; a synced
    // passkey (counter always 0) is caught by the used challenge (test/passkeys/challenges.test.ts).
    assert.match(replayRefusal.reason, /^(replayed|not_verified: Response counter value \d+ was lower than expected)/);
    assert.ok(!String(replayed.headers['set-cookie'] ?? '').includes('gatehouse='), 'no session cookie');

    // A page on a subdomain the attacker runs asks the browser for the site's passkey with a
    // fresh challenge of the gateway's, and relays the answer.
    const evil = http.createServer((_req, res) => res.end('<!doctype html><title>Totally the wiki</title><p>Hi</p>'));
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const token = JSON.parse(captured).csrf as string;
      const optionsAnswer = await post('/.gatehouse/passkeys/sign-in/options', JSON.stringify({ csrf: token }));
      const { options } = JSON.parse(optionsAnswer.body.toString()) as { options: { challenge: string; rpId: string } };
      await page.goto(`http://evil.wiki.localhost:${(evil.address() as AddressInfo).port}/`);
      // The attacker's page script (a string: it runs in the page as written).
      const forged = (await page.evaluate(`(async ({ challenge, rpId }) => {
        const bytes = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
        const text = (buffer) => (buffer ? btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '') : undefined);
        const credential = await navigator.credentials.get({ publicKey: { challenge: bytes(challenge), rpId, userVerification: 'required' } });
        const answer = credential.response;
        return {
          id: credential.id,
          rawId: text(credential.rawId),
          type: credential.type,
          clientExtensionResults: {},
          response: { clientDataJSON: text(answer.clientDataJSON), authenticatorData: text(answer.authenticatorData), signature: text(answer.signature), userHandle: text(answer.userHandle) },
        };
      })(${JSON.stringify(options)})`)) as object;
      const relayed = await relay(JSON.stringify({ csrf: token, rd: '/', response: forged }));
      assert.equal(relayed.status, 400);
      const refusal = JSON.parse(relayed.body.toString()) as { error: string; reason: string };
      assert.equal(refusal.error, 'passkey_refused');
      assert.match(refusal.reason, /^not_verified: .*origin/i);
    } finally {
      evil.close();
    }
  });
});
