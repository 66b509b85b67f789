/**
 * What became of a code, as a guest in Chromium meets it: expired, already used, replaced by
 * a new one (the "send a new code" button and its wait), guessed at too often, and the
 * address locked. Each page says which and what to do. The gateway's clock is moved by the
 * test (never a sleep): the defaults (10 minute codes, 30 s between codes, 5 tries a code,
 * 10 wrong codes an hour) are the ones guests meet.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { useE2eWorld } from './e2e-world.js';
import { askForCode, assertInApp, heading, pressEnterOnForm, submitForm, typeCode } from './guest.js';
import { inspectPage } from './inspect-page.js';
import { wrongCode } from '../helpers/codes.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

async function pressSendNewCode(page: Page): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Send a new code' }).click()]);
}

async function mainText(page: Page): Promise<string> {
  return page.locator('main').innerText();
}

describe('what became of a code, in Chromium', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  test('an expired code says so, and "Send a new code" mails a new one to the same address', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/expired');
    const { context, page } = await suite.openPage(deepLink);
    await askForCode(page, 'late@example.com');
    const first = await suite.world.mailTo('late@example.com');
    await suite.world.advanceClock(11 * MINUTE);
    await typeCode(page, first.code);
    assert.equal(await heading(page), 'This code has expired');
    assert.match(await mainText(page), /Codes work for 10 minutes after they are sent\. Ask for a new one; it goes to late@example\.com\./);
    await inspectPage(page, 'code-expired');
    await pressSendNewCode(page);
    assert.equal(await page.getByRole('status').innerText(), 'We sent a new code. Only the newest code works.');
    const second = await suite.world.mailTo('late@example.com', 2);
    await typeCode(page, second.code);
    await assertInApp(page, deepLink, 'late@example.com');
    await context.close();
  });

  test('a used code says so when the mail link is opened again after signing out', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/used');
    const { context, page } = await suite.openPage(deepLink);
    await askForCode(page, 'twice@example.com');
    const mail = await suite.world.mailTo('twice@example.com');
    await typeCode(page, mail.code);
    await assertInApp(page, deepLink, 'twice@example.com');
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.goto(mail.link);
    assert.equal(await heading(page), 'This code was already used');
    assert.match(await mainText(page), /Each code signs you in once\./);
    await inspectPage(page, 'code-used');
    await context.close();
  });

  test('"Send a new code" says how long to wait, sends one once the wait is over, and only the newest code works', { skip }, async () => {
    const deepLink = suite.world.url('wiki', '/resend');
    const { context, page } = await suite.openPage(deepLink);
    await askForCode(page, 'again@example.com');
    const first = await suite.world.mailTo('again@example.com');
    assert.match(await mainText(page), /You can ask for a new code in (29|30) seconds\./);
    await pressSendNewCode(page);
    assert.equal(await page.getByRole('status').innerText(), 'A code was sent moments ago. Wait a little before asking for another.');
    await inspectPage(page, 'code-resend-wait');

    await suite.world.advanceClock(31 * SECOND);
    await page.reload();
    assert.doesNotMatch(await mainText(page), /You can ask for a new code in/, 'no wait left');
    await pressSendNewCode(page);
    assert.equal(await page.getByRole('status').innerText(), 'We sent a new code. Only the newest code works.');
    const second = await suite.world.mailTo('again@example.com', 2);
    assert.notEqual(second.code, first.code);
    await typeCode(page, first.code);
    assert.match(await page.locator('#code-error').innerText(), /That code is not right/);
    await typeCode(page, second.code);
    await assertInApp(page, deepLink, 'again@example.com');
    await context.close();
  });

  test('five wrong tries kill a code; ten wrong codes lock the address for an hour, shown as a page alert, not a field error', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/guessing'));
    await askForCode(page, 'guess@example.com');
    const wrongFor = wrongCode;
    const first = await suite.world.mailTo('guess@example.com');
    for (let attempt = 1; attempt <= 5; attempt += 1) await typeCode(page, wrongFor(first.code));
    assert.equal(await heading(page), 'Too many wrong tries for this code');
    await inspectPage(page, 'code-dead');

    await suite.world.advanceClock(31 * SECOND);
    await pressSendNewCode(page);
    const second = await suite.world.mailTo('guess@example.com', 2);
    for (let attempt = 1; attempt <= 5; attempt += 1) await typeCode(page, wrongFor(second.code));
    assert.equal(await heading(page), 'Sign-in is paused for this address');
    const alert = page.getByRole('alert');
    assert.match(await alert.innerText(), /Too many wrong codes were entered for guess@example\.com\. For your security no code works for it for the next (59|60) minutes\./);
    assert.equal(await page.locator('[aria-invalid]').count(), 0, 'no field is blamed for a lock-out');
    await inspectPage(page, 'code-locked');

    // The right code does not help, and neither does a new email form.
    await page.getByRole('link', { name: 'Use a different email address' }).click();
    await askForCodeExpectingLock(page, 'guess@example.com');
    await context.close();
  });

  test('too many codes for one address: a 429 page that says how long to wait', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/flood'));
    await askForCode(page, 'flood@example.com');
    for (let sent = 2; sent <= 5; sent += 1) {
      await suite.world.advanceClock(31 * SECOND);
      await pressSendNewCode(page);
      await suite.world.mailTo('flood@example.com', sent);
    }
    await suite.world.advanceClock(31 * SECOND);
    const { response } = await submitForm(page, () => page.getByRole('button', { name: 'Send a new code' }).click());
    assert.equal(response.status(), 429);
    assert.ok(Number(response.headers()['retry-after']) > 0);
    assert.equal(await heading(page), 'Too many requests');
    assert.match(await page.getByRole('alert').innerText(), /Too many codes were asked for\. Wait \d+ minutes, then try again\./);
    await inspectPage(page, 'too-many-requests');
    await context.close();
  });
});

/** Types the locked address on the email form: the answer is the same lock-out page, with a 429. */
async function askForCodeExpectingLock(page: Page, email: string): Promise<void> {
  await page.getByLabel('Email address', { exact: true }).click();
  await page.keyboard.type(email);
  const { response } = await pressEnterOnForm(page);
  assert.equal(response.status(), 429);
  assert.equal(await heading(page), 'Sign-in is paused for this address');
}
