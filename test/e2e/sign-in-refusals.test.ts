/**
 * The pages a guest in Chromium meets when the gateway refuses to send a code: the mail
 * outbox full during a flood (503 "Too many sign-ins right now") and a client over its code
 * limit (429). Both are answered only after a second's pause (REFUSAL_PAUSE_MS in
 * sign-in-routes.ts: a flood asks again as soon as it is answered), so the guest waits
 * about a second longer for the page, and the page must still be right: text, Retry-After,
 * accessibility, phone and desktop.
 *
 * The guest types, presses Enter and reads the page; the flood beside them is FormClient's
 * scripted requests from other loopback addresses, as an attacker's would be.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { FormClient, hiddenField } from '../helpers/form-client.js';
import { DEFAULT_MAX_PENDING_MAILS } from '../../src/mail/smtp-notifier.js';
import { useE2eWorld, type E2eWorld } from './e2e-world.js';
import { askForCode, heading, pressEnterOnForm, typeInto, type FormAnswer } from './guest.js';
import { inspectPage } from './inspect-page.js';

/** The refusal pause, less a little for timer granularity between two processes' clocks. */
const PAUSED_AT_LEAST_MS = 950;

/**
 * The flood: 40 clients of 25 code requests each, for made-up addresses in the allowed
 * domain, fill the outbox's default 1,000 places exactly. 25 a client stays under the
 * default max_per_ip (30/1h), so no request is refused by a limit instead.
 */
const FLOOD_CLIENTS = 40;
const ASKS_PER_FLOOD_CLIENT = DEFAULT_MAX_PENDING_MAILS / FLOOD_CLIENTS;

/** Asks for codes until every place of the gateway's outbox is taken; returns the POSTs' statuses. */
async function fillTheOutbox(world: E2eWorld): Promise<number[]> {
  const host = `wiki.localhost:${world.port}`;
  const perClient = await Promise.all(
    Array.from({ length: FLOOD_CLIENTS }, async (_, c) => {
      const client = new FormClient(world.port, host, { accept: 'text/html' }, `127.0.5.${c + 1}`);
      const form = await client.get('/.gatehouse/login?rd=%2F');
      const csrf = hiddenField(form.text(), 'csrf');
      const statuses: number[] = [];
      for (let i = 0; i < ASKS_PER_FLOOD_CLIENT; i += 1) {
        statuses.push((await client.postForm('/.gatehouse/login', { email: `flood-${c}-${i}@example.com`, csrf, rd: '/' })).status);
      }
      return statuses;
    }),
  );
  return perClient.flat();
}

/** Asserts the answer came no sooner than the pause, by the test's clock and by the browser's own. */
function assertAnsweredAfterThePause({ response, answeredAfterMs }: FormAnswer): void {
  assert.ok(answeredAfterMs >= PAUSED_AT_LEAST_MS, `answered ${Math.round(answeredAfterMs)} ms after Enter`);
  // Resource timing: from the request's start to the answer's first byte, in Chromium.
  const { responseStart } = response.request().timing();
  assert.ok(responseStart >= PAUSED_AT_LEAST_MS, `Chromium had the answer ${Math.round(responseStart)} ms after it sent the form`);
}

async function useDifferentAddress(page: Page): Promise<void> {
  await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Use a different email address' }).click()]);
}

describe('a guest in Chromium during a sign-in flood that fills the mail outbox', () => {
  // A mail server that takes every message and answers none: the outbox's places stay taken.
  // (Its five connections time out after 10 s and are retried; the first place comes free
  // only after the third try, about 30 s in, long after the guest's Enter.)
  const suite = useE2eWorld({ smtp: { acceptWhen: () => new Promise<void>(() => {}) } });
  const { skip } = suite;

  test('the guest types an address, presses Enter and, after a pause, reads "Too many sign-ins right now" with when to try again', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/during-the-flood'));
    await typeInto(page, 'Email address', 'guest@example.com');

    const flood = await fillTheOutbox(suite.world);
    assert.deepEqual(flood.filter((status) => status !== 303), [], 'every place of the outbox went to the flood, none was refused');
    assert.equal(flood.length, DEFAULT_MAX_PENDING_MAILS);

    const answer = await pressEnterOnForm(page);
    assert.equal(answer.response.status(), 503);
    assert.equal(answer.response.headers()['retry-after'], '60');
    assertAnsweredAfterThePause(answer);

    assert.equal(await heading(page), 'Too many sign-ins right now');
    assert.equal(await page.title(), 'Too many sign-ins right now · Gatehouse');
    assert.equal(
      await page.getByRole('alert').innerText(),
      'Too many codes are waiting to be mailed at the moment, so no code was sent. Wait 1 minute, then try again.',
    );
    assert.match(await page.locator('.status').innerText(), /^Error 503 · Request ID \S+/);
    await inspectPage(page, 'sign-in-busy');

    const refused = await suite.world.gateway.waitForLog((line) => line.event === 'otp.requested' && line.email === 'guest@example.com');
    assert.equal(refused.outcome, 'outbox_full', 'the outbox refused it, not a limit');

    // The way on is the sign-in form again, for the same app.
    await Promise.all([page.waitForEvent('load'), page.getByRole('link', { name: 'Back to sign-in' }).click()]);
    assert.equal(await heading(page), 'Sign in to Team Wiki');
    await context.close();
  });
});

describe('a guest in Chromium over the code requests one client may make', () => {
  const suite = useE2eWorld({ extraYaml: 'otp:\n  max_per_ip: 2/1h' });
  const { skip } = suite;

  test('the third address typed from one browser gets, after a pause, the 429 page that says how long to wait', { skip }, async () => {
    const { context, page } = await suite.openPage(suite.world.url('wiki', '/limits'));
    await askForCode(page, 'first@example.com');
    await useDifferentAddress(page);
    await askForCode(page, 'second@example.com');
    await useDifferentAddress(page);

    await typeInto(page, 'Email address', 'third@example.com');
    const answer = await pressEnterOnForm(page);
    assert.equal(answer.response.status(), 429);
    const retryAfter = Number(answer.response.headers()['retry-after']);
    assert.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter}: the rest of the hour`);
    assertAnsweredAfterThePause(answer);

    assert.equal(await heading(page), 'Too many requests');
    assert.equal(await page.getByRole('alert').innerText(), 'Too many codes were asked for. Wait 60 minutes, then try again.');
    assert.match(await page.locator('.status').innerText(), /^Error 429 · Request ID \S+/);
    await inspectPage(page, 'too-many-requests-typed');
    const refused = await suite.world.gateway.waitForLog((line) => line.event === 'otp.requested' && line.email === 'third@example.com');
    assert.equal(refused.outcome, 'rate_limited');

    // The page keeps no form (nothing to send for an hour); Back returns to the one the guest
    // filled in, with what they typed.
    assert.equal(await page.getByLabel('Email address', { exact: true }).count(), 0);
    await page.goBack();
    assert.equal(await heading(page), 'Sign in to Team Wiki');
    assert.equal(await page.getByLabel('Email address', { exact: true }).inputValue(), 'third@example.com');
    await context.close();
  });
});
