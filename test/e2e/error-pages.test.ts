/**
 * Every error page the gateway answers itself, as a guest in Chromium meets it: 400, 403
 * (an expired form), 404 (unknown host, unknown gateway URL), 502, 503, 504. They share the
 * sign-in pages' design, name the error in words, show the request id, offer a way on, and
 * pass the same accessibility and phone checks. (429 and the access-denied 403 are met in
 * code-states.test.ts and sign-in.test.ts; the refused code requests, 429 and the full
 * outbox's 503, in sign-in-refusals.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page, Response } from 'playwright-core';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { useE2eWorld } from './e2e-world.js';
import { askForCode, assertInApp, heading, pressEnterOnForm, typeCode, typeInto } from './guest.js';
import { inspectPage } from './inspect-page.js';

async function assertErrorPage(page: Page, response: Response | null, status: number, title: string): Promise<void> {
  assert.equal(response?.status(), status, `${page.url()} answers ${status}`);
  assert.equal(await heading(page), title);
  assert.match(await page.locator('.status').innerText(), new RegExp(`^Error ${status} · Request ID \\S+`));
  assert.ok(await page.locator('link[href="/.gatehouse/assets/gatehouse.css"]').count(), 'the pages\' own stylesheet');
}

describe('error pages in Chromium', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('400 for an address with an encoded slash, 404 for an unknown host and for an unknown gateway URL', { skip }, async () => {
    const context = await suite.newContext();
    const page = await context.newPage();
    await assertErrorPage(page, await page.goto(suite.world.url('wiki', '/docs%2Fsecret')), 400, 'This web address is not valid');
    await inspectPage(page, 'error-400');
    await assertErrorPage(page, await page.goto(suite.world.url('nowhere', '/')), 404, 'Page not found');
    assert.match(await page.locator('main').innerText(), /There is no app at this address\./);
    const styled = await page.evaluate(() => getComputedStyle(document.querySelector('main')!).maxWidth);
    assert.equal(styled, '432px', 'the unknown host\'s page has the design too (its stylesheet loads)');
    await inspectPage(page, 'error-404');
    await assertErrorPage(page, await page.goto(suite.world.url('wiki', '/.gatehouse/nothing-here')), 404, 'Page not found');
    await context.close();
  });

  test('502 when the app is down and 504 when it does not answer, each with "Try again"', { skip }, async () => {
    const context = await suite.newContext();
    const page = await context.newPage();
    await assertErrorPage(page, await page.goto(suite.world.url('broken', '/report')), 502, 'The app is not available');
    await inspectPage(page, 'error-502');
    const [again] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/report')), page.getByRole('link', { name: 'Try again' }).click()]);
    assert.equal(again.status(), 502, '"Try again" asks for the same page');
    await assertErrorPage(page, await page.goto(suite.world.url('slow', '/slow')), 504, 'The app did not answer in time');
    await inspectPage(page, 'error-504');
    await context.close();
  });

  test('403 for a form whose cookies are gone: "This page has expired", and "Start again" works', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/after-a-long-lunch');
    const { context, page } = await suite.openPage(deepLink);
    await context.clearCookies(); // as when the browser dropped them while the form stood open
    await typeInto(page, 'Email address', 'lunch@example.com');
    const { response } = await pressEnterOnForm(page);
    await assertErrorPage(page, response, 403, 'This page has expired');
    await inspectPage(page, 'error-403-form');
    await page.getByRole('link', { name: 'Start again' }).click();
    await askForCode(page, 'lunch@example.com');
    await typeCode(page, (await suite.world.mailTo('lunch@example.com')).code);
    await assertInApp(page, deepLink, 'lunch@example.com');
    await context.close();
  });
});

// Nothing listens there: the gateway's Redis store cannot connect.
const deadRedis = await unusedLoopbackPort();

describe('error pages in Chromium, with the session store down', () => {
  const suite = useE2eWorld({ storeYaml: `\n    redis:\n      url: redis://127.0.0.1:${deadRedis}` });
  const { skip } = suite;

  test('503 when sign-in cannot reach the store; public pages still work', { skip }, async () => {
    const context = await suite.newContext();
    const page = await context.newPage();
    assert.equal((await page.goto(suite.world.url('wiki', '/public/notes')))?.status(), 200, 'a public path needs no store');
    await page.goto(suite.world.url('wiki', '/private'));
    await typeInto(page, 'Email address', 'bob@example.com');
    const { response } = await pressEnterOnForm(page);
    await assertErrorPage(page, response, 503, 'Sign-in is unavailable');
    await inspectPage(page, 'error-503');
    await context.close();
  });
});
