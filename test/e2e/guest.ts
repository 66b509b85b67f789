/**
 * A guest at the keyboard: what the browser tests do is what a person does — click a field,
 * type, press Enter, click a button or a link, read the page. Nothing here sets a header or
 * a cookie, or fills a field in one go.
 */
import assert from 'node:assert/strict';
import type { Page, Response } from 'playwright-core';
import type { E2eMail, E2eWorld } from './e2e-world.js';

/** Clicks the field with this label and types `text` key by key. */
export async function typeInto(page: Page, label: string, text: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).click();
  await page.keyboard.type(text);
}

/** What a form's submission brought back: the answer to its POST, and how long it took. */
export interface FormAnswer {
  /** The answer to the form's own POST (the main frame's navigation to its `action`). */
  readonly response: Response;
  /** From just before the key press or click to the answer's status and headers. */
  readonly answeredAfterMs: number;
}

/**
 * Submits a form by `submit` (Enter, a click) and resolves once the page it loads has loaded,
 * with the answer to that form's POST to `action`. Not "the first POST answered": the
 * sign-in page's passkey script POSTs by itself for the autofill's options, and on a busy
 * machine its answer came between the Enter and the form's (a 200 read as the form's 400).
 */
export async function submitForm(page: Page, submit: () => Promise<void>, action = '/.gatehouse/login'): Promise<FormAnswer> {
  const started = performance.now();
  const answer = page
    .waitForResponse((response) => {
      const request = response.request();
      return request.isNavigationRequest() && request.frame() === page.mainFrame() && request.method() === 'POST' && new URL(request.url()).pathname === action;
    })
    .then((response) => ({ response, answeredAfterMs: performance.now() - started }));
  // The answer's page, not the one the form stood on, is the one the test reads next.
  const [formAnswer] = await Promise.all([answer, page.waitForEvent('load'), submit()]);
  return formAnswer;
}

/** Presses Enter in the field that has the focus; see `submitForm`. */
export function pressEnterOnForm(page: Page, action = '/.gatehouse/login'): Promise<FormAnswer> {
  return submitForm(page, () => page.keyboard.press('Enter'), action);
}

/** The page's main heading, as the guest reads it. */
export async function heading(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).innerText()).trim();
}

/** Types the address on the email form and presses Enter; waits for the code page. */
export async function askForCode(page: Page, email: string, labels = { email: 'Email address', code: 'Sign-in code' }): Promise<void> {
  await typeInto(page, labels.email, email);
  // Wait for the page that Enter loads: the form may itself be on a /code? URL (a mail link
  // opened in another browser), which waitForURL alone would take as already reached.
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
  await page.waitForURL(/\/\.gatehouse\/code\?/);
}

/** Types the code on the code page and presses Enter; resolves once the next page has loaded. */
export async function typeCode(page: Page, code: string, label = 'Sign-in code'): Promise<void> {
  await typeInto(page, label, code);
  await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
}

/**
 * The whole sign-in from the email form: type the address, Enter, read the mail, type the
 * code, Enter. Returns the mail. The page ends where the gateway sends the guest.
 */
export async function signInFromForm(page: Page, world: E2eWorld, email: string, nthMail = 1): Promise<E2eMail> {
  await askForCode(page, email);
  const mail = await world.mailTo(email, nthMail);
  await typeCode(page, mail.code);
  return mail;
}

/** Asserts the app page shows this guest, at exactly this URL. */
export async function assertInApp(page: Page, url: string, email: string): Promise<void> {
  assert.equal(page.url(), url);
  assert.equal(await page.locator('#who').innerText(), email);
}
