/**
 * A guest signs in with a real browser (headless Chromium): types, presses Enter, clicks and
 * reads what the page shows. No header is set by hand: Origin, cookies and Accept are
 * Chromium's own. Every gateway page on the way is checked by inspectPage (axe-core, 360 px,
 * screenshots).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useE2eWorld } from './e2e-world.js';
import { askForCode, assertInApp, heading, pressEnterOnForm, typeCode, typeInto } from './guest.js';
import { inspectPage } from './inspect-page.js';

describe('a guest in Chromium', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('opens a deep link, signs in with the mailed code, lands on the exact URL, reloads, goes back, signs out and is asked again', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/docs/setup?tab=linux&q=a%20b');
    const { context, page } = await suite.openPage(deepLink);
    assert.match(page.url(), /\/\.gatehouse\/login\?rd=/);
    assert.equal(await heading(page), 'Sign in to Team Wiki', 'the page names the app');
    assert.equal(await page.title(), 'Sign in to Team Wiki · Gatehouse');
    await inspectPage(page, 'login');

    await askForCode(page, 'bob@example.com');
    assert.equal(await heading(page), 'Check your email');
    assert.match(await page.locator('main').innerText(), /Enter the code we emailed to bob@example\.com\. The code is valid for 10 minutes\./);
    const codeField = page.getByLabel('Sign-in code', { exact: true });
    assert.equal(await codeField.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await codeField.getAttribute('inputmode'), 'numeric');
    assert.ok(await codeField.evaluate((field) => field === document.activeElement), 'the code field has the focus');
    await inspectPage(page, 'code');
    // A reload shows the code page again: it is a GET, so no form is re-sent and no second mail goes out.
    await page.reload();
    assert.equal(await heading(page), 'Check your email');

    const mail = await suite.world.mailTo('bob@example.com');
    assert.equal(mail.subject, `${mail.code} is your sign-in code for Team Wiki`);
    await typeCode(page, mail.code);
    await assertInApp(page, deepLink, 'bob@example.com');
    assert.equal(await page.locator('#target').innerText(), '/docs/setup?tab=linux&q=a%20b');
    await page.reload();
    await assertInApp(page, deepLink, 'bob@example.com');

    // Back from the app: no stale code form, but the news that the guest is signed in.
    await page.goBack();
    assert.equal(await heading(page), 'You are signed in');
    assert.match(await page.locator('main').innerText(), /You are signed in to Team Wiki as bob@example\.com\./);
    await inspectPage(page, 'signed-in');
    await page.getByRole('link', { name: 'Continue to Team Wiki' }).click();
    await assertInApp(page, deepLink, 'bob@example.com');

    await page.getByRole('link', { name: 'Sign out' }).click();
    assert.equal(await heading(page), 'You are signed out');
    await inspectPage(page, 'signed-out');
    await page.goto(deepLink);
    assert.equal(await heading(page), 'Sign in to Team Wiki', 'signed out, the guest is asked again');

    // Log lines are in order: once the sign-out's line is out, every earlier one is too.
    await suite.world.gateway.waitForLog((line) => line.event === 'session.ended');
    const requested = suite.world.gateway.logs.filter((line) => line.event === 'otp.requested');
    assert.equal(requested.length, 1, 'the reload sent no second code');
    await context.close();
  });

  test('on a 360 px phone the guest signs in with taps and the keyboard, uses the app, signs out, and every page fits', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/whoami/phone?x=1');
    const { context, page } = await suite.openPage(deepLink, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const fits = async () => assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 360, `${page.url()} fits 360 px`);
    await fits();
    await page.getByLabel('Email address', { exact: true }).tap();
    await page.keyboard.type('phone@example.com');
    await page.getByRole('button', { name: 'Send code' }).tap();
    await page.waitForURL(/\/\.gatehouse\/code\?/);
    await fits();
    const mail = await suite.world.mailTo('phone@example.com');
    await page.getByLabel('Sign-in code', { exact: true }).tap();
    await page.keyboard.type(mail.code);
    await inspectPage(page, 'code-typed');
    await Promise.all([page.waitForURL(deepLink), page.getByRole('button', { name: 'Sign in' }).tap()]);
    // The built-in whoami app: what the app receives, readable on the phone.
    assert.equal(await heading(page), 'What the app receives');
    assert.match(await page.locator('main').innerText(), /x-auth-request-email\s+phone@example\.com/);
    await fits();
    await inspectPage(page, 'whoami');
    // The same sign-in covers the whole host: the wiki itself, and its sign-out link.
    await page.goto(suite.world.url('wiki', '/home'));
    await assertInApp(page, suite.world.url('wiki', '/home'), 'phone@example.com');
    await page.getByRole('link', { name: 'Sign out' }).tap();
    assert.equal(await heading(page), 'You are signed out');
    await fits();
    await context.close();
  });

  test('with the keyboard alone: the focus starts in the field, Tab reaches the button, Space and Enter submit', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/keyboard');
    const { context, page } = await suite.openPage(deepLink);
    const focusedName = () => page.evaluate(() => document.activeElement?.getAttribute('name') || document.activeElement?.textContent || '');
    // Chromium applies `autofocus` at its next rendering step, which can come after `load`
    // on a busy machine: wait (bounded) for the focus to arrive, then check where it is.
    const focusArrives = (name: string) =>
      page.waitForFunction((expected) => document.activeElement?.getAttribute('name') === expected, name, { timeout: 5_000 }).catch(() => undefined);
    await focusArrives('email');
    assert.equal(await focusedName(), 'email');
    await page.keyboard.type('keys@example.com');
    await page.keyboard.press('Tab');
    assert.equal((await focusedName()).trim(), 'Send code');
    await Promise.all([page.waitForURL(/\/\.gatehouse\/code\?/), page.keyboard.press('Space')]);
    await focusArrives('code');
    assert.equal(await focusedName(), 'code');
    const mail = await suite.world.mailTo('keys@example.com');
    await page.keyboard.type(mail.code);
    await Promise.all([page.waitForURL(deepLink), page.keyboard.press('Enter')]);
    await assertInApp(page, deepLink, 'keys@example.com');
    await context.close();
  });

});

describe('a guest in Chromium, on an address typed wrong', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('an address with a comma gets a 400 page that explains on the field, and nothing is sent', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/x'));
    await typeInto(page, 'Email address', 'bob@example.com, eve@evil.test');
    const { response } = await pressEnterOnForm(page);
    assert.equal(response.status(), 400);
    const field = page.getByLabel('Email address', { exact: true });
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#email-error').innerText(), 'The email address must not contain spaces.');
    assert.equal(await field.inputValue(), 'bob@example.com, eve@evil.test', 'what the guest typed is kept to correct');
    await inspectPage(page, 'login-invalid');
    await context.close();
  });
});
