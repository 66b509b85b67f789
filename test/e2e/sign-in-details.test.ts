/**
 * A guest in Chromium, continued (one file per about a minute of browser time, so each stays
 * well inside the test runner's per-file limit): a wrong code, an address without access,
 * the app's WebSocket, the mail's link on another device, and what the mail says.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useE2eWorld } from './e2e-world.js';
import { askForCode, assertInApp, heading, signInFromForm, typeCode } from './guest.js';
import { inspectPage } from './inspect-page.js';
import { wrongCode } from '../helpers/codes.js';

describe('a guest in Chromium: codes, access, WebSockets and the mail', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('a wrong code, then the right one: the error is announced on the code field', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/typo');
    const { context, page } = await suite.openPage(deepLink);
    await askForCode(page, 'typo@example.com');
    const mail = await suite.world.mailTo('typo@example.com');
    const wrong = wrongCode(mail.code);
    await typeCode(page, wrong);
    const field = page.getByLabel('Sign-in code', { exact: true });
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    const describedBy = (await field.getAttribute('aria-describedby'))!.split(' ');
    const error = page.locator(`#${describedBy.at(-1)}`);
    assert.equal(await error.innerText(), 'That code is not right. You have 4 more tries.');
    assert.equal(await error.getAttribute('role'), 'alert');
    await inspectPage(page, 'code-wrong');
    await typeCode(page, mail.code);
    await assertInApp(page, deepLink, 'typo@example.com');
    await context.close();
  });

  test('signed in as an address without access: a 403 that names it, and "another address" leads straight to the form', { skip }, async () => {
    const deepLink = suite.world.url('partners', '/deals?id=7');
    const { context, page } = await suite.openPage(deepLink);
    assert.equal(await heading(page), 'Sign in to Partner Portal');
    await signInFromForm(page, suite.world, 'outsider@example.com');
    assert.equal(page.url(), deepLink);
    assert.equal(await heading(page), 'No access to Partner Portal');
    assert.match(await page.locator('main').innerText(), /You are signed in as outsider@example\.com, and this address has no access to Partner Portal\./);
    assert.match(await page.locator('.request-id').innerText(), /\S+/);
    await inspectPage(page, 'forbidden');
    await page.getByRole('link', { name: 'Sign in with another address' }).click();
    assert.equal(await heading(page), 'Sign in to Partner Portal');
    assert.equal(await page.getByLabel('Email address', { exact: true }).inputValue(), '');
    await signInFromForm(page, suite.world, 'alice@partner.test');
    await assertInApp(page, deepLink, 'alice@partner.test');
    await context.close();
  });

  test("after sign-in an app page's WebSocket works, as the signed-in guest", { skip }, async () => {
    const live = suite.world.url('wiki', '/live');
    const { context, page } = await suite.openPage(live);
    await signInFromForm(page, suite.world, 'live@example.com');
    assert.equal(page.url(), live);
    await page.getByText('ping answered for live@example.com').waitFor();
    await context.close();
  });

  test('the link in the mail opens the code page in the browser that asked; on another device the guest starts there', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/from-mail');
    const { context: laptop, page } = await suite.openPage(deepLink);
    await askForCode(page, 'link@example.com');
    const mail = await suite.world.mailTo('link@example.com');

    const tab = await laptop.newPage();
    await tab.goto(mail.link);
    assert.equal(await heading(tab), 'Check your email');
    await typeCode(tab, mail.code);
    await assertInApp(tab, deepLink, 'link@example.com');
    await laptop.close();

    // The same mail opened on a phone: the code belongs to the laptop, so the phone asks anew.
    const { context: phone, page: elsewhere } = await suite.openPage(mail.link, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    assert.equal(await heading(elsewhere), 'Sign in to Team Wiki');
    assert.match(await elsewhere.getByRole('status').innerText(), /A code works only in the browser that asked for it/);
    await inspectPage(elsewhere, 'login-other-browser');
    await askForCode(elsewhere, 'link@example.com');
    assert.match(await elsewhere.locator('main').innerText(), /A code for link@example\.com was asked for moments ago, in another window or browser\./);
    await inspectPage(elsewhere, 'code-none-here');
    await suite.world.advanceClock(31_000);
    await elsewhere.reload();
    await Promise.all([elsewhere.waitForEvent('load'), elsewhere.getByRole('button', { name: 'Send a new code' }).tap()]);
    const second = await suite.world.mailTo('link@example.com', 2);
    await typeCode(elsewhere, second.code);
    await assertInApp(elsewhere, deepLink, 'link@example.com');
    await phone.close();
  });

  test('the mail says which site, app and browser asked, and that the code must never be given to anyone', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/mail-check'));
    await askForCode(page, 'reader@example.com');
    const mail = await suite.world.mailTo('reader@example.com');
    // This Chromium runs headless and says so in its User-Agent; the mail shows that.
    assert.match(await page.evaluate(() => navigator.userAgent), /HeadlessChrome\/.*Linux|Linux.*HeadlessChrome\//);
    const lines = mail.text.split(/\r?\n/).map((line) => line.trim());
    assert.ok(lines.includes(`Site:       ${suite.world.url('wiki', '')}`), mail.text);
    assert.ok(lines.includes('App:        Team Wiki'));
    assert.ok(lines.includes('Browser:    Headless Chrome on Linux'));
    assert.ok(lines.includes('IP address: 127.0.0.1'));
    assert.match(mail.text, /Never give this code to anyone/);
    await context.close();
  });
});
