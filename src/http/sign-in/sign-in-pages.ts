/**
 * The pages a guest sees while signing in: email form, code page (and what became of the
 * code), signed in, access denied, signed out, too many requests, form expired. They name
 * the app the guest is signing in to, speak the guest's language, and work without
 * JavaScript. Errors about a field are tied to it (`aria-describedby`, `aria-invalid`);
 * errors about the sign-in as a whole (a lock-out) are page alerts, never a field's.
 */
import { escapeHtml } from '../../lib/html.js';
import { renderErrorStatus, renderPage, type PageLocale } from '../pages.js';
import { describeRemaining, describeWait, fillHtml, fillText, plural, strong } from '../../i18n/catalogue.js';
import type { EmailProblem } from '../../config/values.js';
import type { SignInStatus } from '../../otp/sign-in-codes.js';
import { loginHref, switchAddressHref } from './sign-in-urls.js';
import { PASSKEY_SCRIPTS, renderPasskeyButton } from '../passkeys/passkey-pages.js';

/** What every sign-in page knows about the request. */
export interface SignInPage {
  readonly locale: PageLocale;
  /** The app the guest is signing in to (route title or name; the product name when unknown). */
  readonly appName: string;
  readonly csrfToken: string;
  /** Where to go after signing in (already validated). */
  readonly returnTo: string;
}

export { loginHref, switchAddressHref };

function hiddenFields(page: SignInPage): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(page.csrfToken)}">
<input type="hidden" name="rd" value="${escapeHtml(page.returnTo)}">`;
}

function fieldError(id: string, message: string | undefined): string {
  return message ? `\n<p class="error" id="${id}" role="alert">${escapeHtml(message)}</p>` : '';
}

function notice(message: string | undefined): string {
  return message ? `<p class="notice" role="status">${escapeHtml(message)}</p>\n` : '';
}

export interface LoginPageOptions {
  readonly email?: string;
  readonly problem?: EmailProblem | 'repeated';
  readonly notice?: string;
}

/** The email form. */
export function renderLoginPage(page: SignInPage, options: LoginPageOptions = {}): string {
  const { t, branding } = page.locale;
  const error = options.problem ? t.emailProblem[options.problem] : undefined;
  const invalid = error ? ' aria-describedby="email-error" aria-invalid="true"' : '';
  // An operator's own heading replaces "Sign in to <app>".
  const heading = branding.title ? escapeHtml(branding.title) : fillHtml(t.login.title, { app: page.appName });
  return renderPage(page.locale, {
    title: branding.title || fillText(t.login.title, { app: page.appName }),
    bodyHtml: `<h1>${heading}</h1>
<p class="lead">${escapeHtml(t.login.lead)}</p>
${notice(options.notice)}<form method="post" action="/.gatehouse/login" novalidate>
${hiddenFields(page)}
<label for="email">${escapeHtml(t.login.emailLabel)}</label>
<input id="email" name="email" type="email" autocomplete="email webauthn" inputmode="email" autocapitalize="none" spellcheck="false" required autofocus
 value="${escapeHtml(options.email ?? '')}"${invalid}>${fieldError('email-error', error)}
<button type="submit">${escapeHtml(t.login.submit)}</button>
</form>
${renderPasskeyButton(page.locale, { action: 'sign-in', label: t.passkeys.signIn, csrfToken: page.csrfToken, returnTo: page.returnTo, autofill: true, secondary: true })}
<p class="help">${escapeHtml(t.login.help)}</p>
${PASSKEY_SCRIPTS}`,
  });
}

export interface CodePageOptions {
  readonly status: SignInStatus;
  readonly digits: number;
  readonly ttlMs: number;
  readonly now: number;
  /** The last submission: a wrong code, or not a code at all. */
  readonly error?: 'wrong' | 'format';
  readonly notice?: 'resent' | 'too_soon';
  readonly requestId: string;
}

/** The "send a new code" form: the address is the flow's, so the guest types nothing. */
function resendBlock(page: SignInPage, status: SignInStatus, primary: boolean): string {
  const { t, language } = page.locale;
  const wait = status.resendInMs > 0 ? `\n<p>${escapeHtml(fillText(t.code.resendWait, { duration: describeWait(language, status.resendInMs) }))}</p>` : '';
  return `<div class="resend">
<form method="post" action="/.gatehouse/login">
${hiddenFields(page)}
<input type="hidden" name="email" value="${escapeHtml(status.email)}">
<input type="hidden" name="resend" value="1">
<button type="submit"${primary ? '' : ' class="secondary"'}>${escapeHtml(t.code.resend)}</button>
</form>${wait}
<p><a href="${escapeHtml(loginHref(page.returnTo))}">${escapeHtml(t.code.otherAddress)}</a></p>
</div>`;
}

/**
 * The code page, for every state of the browser's sign-in: a live code (the code form), no
 * code for this browser yet, an expired, used or dead code (each says which, and offers a
 * new one), or an address locked after too many wrong codes.
 */
export function renderCodePage(page: SignInPage, options: CodePageOptions): string {
  const { t, language } = page.locale;
  const { status } = options;
  const email = strong(status.email);
  const noticeText = options.notice === 'resent' ? t.code.resent : options.notice === 'too_soon' ? t.code.tooSoon : undefined;
  const stateful = (title: string, bodyHtml: string) =>
    renderPage(page.locale, { title, bodyHtml: `<h1>${escapeHtml(title)}</h1>\n${bodyHtml}` });

  switch (status.state) {
    case 'code_sent': {
      const error =
        options.error === 'wrong' ? plural(language, t.code.wrong, status.attemptsLeft) : options.error === 'format' ? fillText(t.code.format, { digits: String(options.digits) }) : undefined;
      const describedBy = error ? 'code-hint code-error' : 'code-hint';
      return stateful(
        t.code.title,
        `<p class="lead">${fillHtml(t.code.sentTo, { email })} ${escapeHtml(fillText(t.code.validFor, { duration: describeRemaining(language, status.expiresAt - options.now) }))}</p>
${notice(noticeText)}<form method="post" action="/.gatehouse/verify" novalidate>
${hiddenFields(page)}
<label for="code">${escapeHtml(t.code.label)}</label>
<p class="hint" id="code-hint">${escapeHtml(fillText(t.code.hint, { digits: String(options.digits) }))}</p>
<input id="code" class="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*"
 maxlength="${options.digits + 4}" required autofocus aria-describedby="${describedBy}"${error ? ' aria-invalid="true"' : ''}>${fieldError('code-error', error)}
<button type="submit">${escapeHtml(t.code.submit)}</button>
</form>
<p class="help">${fillHtml(t.code.help, { app: page.appName })}</p>
${resendBlock(page, status, false)}`,
      );
    }
    case 'no_code':
      return stateful(t.code.title, `<p class="lead">${fillHtml(t.code.noCodeYet, { email })}</p>\n${resendBlock(page, status, true)}`);
    case 'expired':
      return stateful(
        t.codeState.expiredTitle,
        `<p class="lead">${fillHtml(t.codeState.expired, { email, duration: describeRemaining(language, options.ttlMs) })}</p>\n${notice(noticeText)}${resendBlock(page, status, true)}`,
      );
    case 'used':
      return stateful(t.codeState.usedTitle, `<p class="lead">${fillHtml(t.codeState.used, { email })}</p>\n${notice(noticeText)}${resendBlock(page, status, true)}`);
    case 'dead':
      return stateful(t.codeState.deadTitle, `<p class="lead">${fillHtml(t.codeState.dead, { email })}</p>\n${notice(noticeText)}${resendBlock(page, status, true)}`);
    case 'locked':
      return renderLockedPage(page, { email: status.email, lockedForMs: status.lockedForMs, requestId: options.requestId });
    case 'client_locked':
      return renderLockedPage(page, { lockedForMs: status.lockedForMs, requestId: options.requestId });
  }
}

/**
 * Too many wrong codes, for the address (`email` given) or from this client: a page alert,
 * never an error of any field.
 */
export function renderLockedPage(page: SignInPage, lock: { email?: string; lockedForMs: number; requestId: string }): string {
  const { t, language } = page.locale;
  const title = lock.email === undefined ? t.codeState.clientLockedTitle : t.codeState.lockedTitle;
  const duration = describeWait(language, lock.lockedForMs);
  const text = lock.email === undefined ? fillHtml(t.codeState.clientLocked, { duration }) : fillHtml(t.codeState.locked, { email: strong(lock.email), duration });
  return renderPage(page.locale, {
    title,
    bodyHtml: `<h1>${escapeHtml(title)}</h1>
<div class="alert" role="alert"><p>${text}</p></div>
<p><a href="${escapeHtml(loginHref(page.returnTo))}">${escapeHtml(t.code.otherAddress)}</a></p>
${renderErrorStatus(page.locale, 429, lock.requestId)}`,
  });
}

/** Already signed in for this app: no stale form, a way on and a way to switch. */
export function renderSignedInPage(page: SignInPage, email: string): string {
  const { t } = page.locale;
  return renderPage(page.locale, {
    title: t.signedIn.title,
    bodyHtml: `<h1>${escapeHtml(t.signedIn.title)}</h1>
<p class="lead">${fillHtml(t.signedIn.body, { app: page.appName, email: strong(email) })}</p>
<p><a class="button" href="${escapeHtml(page.returnTo)}">${fillHtml(t.signedIn.continue, { app: page.appName })}</a></p>
<p><a href="${escapeHtml(switchAddressHref(page.returnTo))}">${escapeHtml(t.signedIn.switch)}</a></p>
<p><a href="/.gatehouse/">${escapeHtml(t.account.link)}</a></p>`,
  });
}

/** Signed in, but this address may not use this app. */
export function renderForbiddenPage(locale: PageLocale, options: { email: string; appName: string; returnTo: string; requestId: string }): string {
  const { t } = locale;
  return renderPage(locale, {
    title: fillText(t.forbidden.title, { app: options.appName }),
    bodyHtml: `<h1>${fillHtml(t.forbidden.title, { app: options.appName })}</h1>
<p class="lead">${fillHtml(t.forbidden.body, { email: strong(options.email), app: options.appName })}</p>
<p class="help">${escapeHtml(t.forbidden.help)}</p>
<p><a class="button" href="${escapeHtml(switchAddressHref(options.returnTo))}">${escapeHtml(t.forbidden.switch)}</a></p>
<p><a href="/.gatehouse/">${escapeHtml(t.account.link)}</a></p>
${renderErrorStatus(locale, 403, options.requestId)}`,
  });
}

/** After sign-out. */
export function renderSignedOutPage(locale: PageLocale, appName: string, returnTo: string): string {
  const { t } = locale;
  return renderPage(locale, {
    title: t.signedOut.title,
    bodyHtml: `<h1>${escapeHtml(t.signedOut.title)}</h1>
<p class="lead">${fillHtml(t.signedOut.body, { app: appName })}</p>
<p><a class="button" href="${escapeHtml(loginHref(returnTo))}">${escapeHtml(t.signedOut.again)}</a></p>`,
  });
}

/** Over a code-request limit. The same page for every address: it never says whether one is allowed. */
export function renderTooManyRequestsPage(page: SignInPage, retryAfterSeconds: number, requestId: string): string {
  const { t, language } = page.locale;
  return renderPage(page.locale, {
    title: t.tooManyRequests.title,
    bodyHtml: `<h1>${escapeHtml(t.tooManyRequests.title)}</h1>
<div class="alert" role="alert"><p>${escapeHtml(fillText(t.tooManyRequests.body, { duration: describeWait(language, retryAfterSeconds * 1000) }))}</p></div>
<p><a href="${escapeHtml(loginHref(page.returnTo))}">${escapeHtml(t.tooManyRequests.back)}</a></p>
${renderErrorStatus(page.locale, 429, requestId)}`,
  });
}

/**
 * The answer to a code request while the mail outbox is full (503): no code was made, the
 * same page for every address, and when to try again.
 */
export function renderSignInBusyPage(page: SignInPage, retryAfterSeconds: number, requestId: string): string {
  const { t, language } = page.locale;
  return renderPage(page.locale, {
    title: t.signInBusy.title,
    bodyHtml: `<h1>${escapeHtml(t.signInBusy.title)}</h1>
<div class="alert" role="alert"><p>${escapeHtml(fillText(t.signInBusy.body, { duration: describeWait(language, retryAfterSeconds * 1000) }))}</p></div>
<p><a href="${escapeHtml(loginHref(page.returnTo))}">${escapeHtml(t.signInBusy.back)}</a></p>
${renderErrorStatus(page.locale, 503, requestId)}`,
  });
}

/** A form that failed the cross-site checks. */
export function renderFormRejectedPage(locale: PageLocale, returnTo: string, requestId: string): string {
  const { t } = locale;
  return renderPage(locale, {
    title: t.formRejected.title,
    bodyHtml: `<h1>${escapeHtml(t.formRejected.title)}</h1>
<p class="lead">${escapeHtml(t.formRejected.body)}</p>
<p><a class="button" href="${escapeHtml(loginHref(returnTo))}">${escapeHtml(t.formRejected.back)}</a></p>
${renderErrorStatus(locale, 403, requestId)}`,
  });
}
