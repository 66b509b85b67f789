/**
 * A guest signs in with a real browser (headless Chromium): types, presses Enter, clicks and
 * reads what the page shows. No header is set by hand: Origin, cookies and Accept are
 * Chromium's own.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromiumSkipReason, launchChromium, type TestBrowser } from '../helpers/chromium.js';
import { startE2eWorld, type E2eWorld } from './e2e-world.js';

describe('a guest in Chromium', () => {
  const skip = chromiumSkipReason();
  let world: E2eWorld;
  let browser: TestBrowser;
  before(async () => {
    if (skip) return;
    world = await startE2eWorld();
    browser = launchChromium();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  test('opens a deep link, signs in with the mailed code and lands on the exact URL as themselves', { skip }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const deepLink = world.url('wiki', '/docs/setup?tab=linux&q=a%20b');
    await page.goto(deepLink);
    assert.match(new URL(page.url()).pathname, /^\/\.gatehouse\/login$/);

    await page.getByLabel('Email address').fill('bob@example.com');
    await page.keyboard.press('Enter');
    await page.getByLabel('Code').waitFor();
    const mail = await world.mail(0);
    assert.equal(mail.to, 'bob@example.com');

    await page.getByLabel('Code').pressSequentially(mail.code);
    await page.keyboard.press('Enter');
    await page.waitForURL(deepLink);
    assert.equal(await page.locator('#who').textContent(), 'bob@example.com');
    assert.equal(await page.locator('#target').textContent(), '/docs/setup?tab=linux&q=a%20b');
    await context.close();
  });
});
