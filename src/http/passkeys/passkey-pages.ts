/**
 * What passkeys add to the pages: the passkey button (sign in, use, add) that the gateway's
 * own script drives, the step-up page of `require: passkey` routes, and the passkeys part of
 * the guest's own page.
 *
 * The button block is `hidden` until the script has found a browser that can do WebAuthn, so
 * a page without JavaScript (or in an old browser) shows only what works there: the code.
 * Its texts travel as data attributes, in the page's language; no inline script (CSP).
 */
import { escapeHtml } from '../../lib/html.js';
import { describeMoment, fillHtml, fillText, strong } from '../../i18n/catalogue.js';
import { renderPage, type PageLocale } from '../pages.js';
import type { SignInPage } from '../sign-in/sign-in-pages.js';
import { loginHref, switchAddressHref } from '../sign-in/sign-in-urls.js';
import type { Passkey } from '../../passkeys/passkey-store.js';
import type { AddRight } from './passkey-rights.js';

export const PASSKEY_SCRIPTS = `<script src="/.gatehouse/assets/webauthn.js" defer></script>
<script src="/.gatehouse/assets/passkeys.js" defer></script>`;

export interface PasskeyButtonOptions {
  readonly action: 'sign-in' | 'add';
  readonly label: string;
  readonly csrfToken: string;
  /** Where the browser goes once it worked. */
  readonly returnTo: string;
  /** Offer the browser's passkey autofill on the email field as well (the sign-in page). */
  readonly autofill?: boolean;
  readonly secondary?: boolean;
}

/** The block the script turns into a working passkey button. */
export function renderPasskeyButton(locale: PageLocale, options: PasskeyButtonOptions): string {
  const { t } = locale;
  const data = [
    `data-passkeys="${options.action}"`,
    `data-csrf="${escapeHtml(options.csrfToken)}"`,
    `data-rd="${escapeHtml(options.returnTo)}"`,
    `data-working="${escapeHtml(t.passkeys.working)}"`,
    `data-cancelled="${escapeHtml(t.passkeys.cancelled)}"`,
    `data-failed="${escapeHtml(t.passkeys.failed)}"`,
    ...(options.autofill ? ['data-autofill'] : []),
  ].join(' ');
  const name =
    options.action === 'add'
      ? `<label for="passkey-name">${escapeHtml(t.passkeys.nameLabel)}</label>
<input id="passkey-name" name="passkey-name" type="text" maxlength="60" autocomplete="off" aria-describedby="passkey-name-hint">
<p class="help" id="passkey-name-hint">${escapeHtml(t.passkeys.nameHint)}</p>
`
      : '';
  return `<div class="passkeys" ${data} hidden>
${name}<button type="button"${options.secondary ? ' class="secondary"' : ''}>${escapeHtml(options.label)}</button>
<p class="passkey-status" aria-live="polite"></p>
</div>`;
}

export interface StepUpContent {
  /** The signed-in address; undefined when signed out. */
  readonly email: string | undefined;
  readonly hasPasskey: boolean;
  readonly addRight: AddRight;
  /** This page's own URL (to come back to after a new code). */
  readonly stepUpUrl: string;
}

/** `/.gatehouse/passkey`: a code session is asked to use or add a passkey for the app. */
export function renderStepUpPage(page: SignInPage, content: StepUpContent): string {
  const { t } = page.locale;
  const button = (action: 'sign-in' | 'add', label: string) =>
    renderPasskeyButton(page.locale, { action, label, csrfToken: page.csrfToken, returnTo: page.returnTo });
  let body: string;
  if (content.email === undefined) {
    body = `<p>${escapeHtml(t.passkeys.stepUpSignedOut)}</p>
${button('sign-in', t.passkeys.use)}
<p><a href="${escapeHtml(loginHref(content.stepUpUrl))}">${escapeHtml(t.passkeys.withCode)}</a></p>`;
  } else if (content.hasPasskey) {
    body = button('sign-in', t.passkeys.use);
  } else if (content.addRight === 'yes') {
    body = `<p>${escapeHtml(t.passkeys.stepUpAdd)}</p>
${button('add', t.passkeys.add)}`;
  } else {
    // Signs out and asks for the address again, then comes back here to add the passkey.
    const newCode = switchAddressHref(content.stepUpUrl);
    body = `<p>${escapeHtml(t.passkeys.stepUpFreshCode)}</p>
<p><a class="button" href="${escapeHtml(newCode)}">${escapeHtml(t.passkeys.stepUpNewCode)}</a></p>`;
  }
  // Signed in as someone else, or the passkey is on another device: a way out.
  const who =
    content.email === undefined
      ? ''
      : `\n<p class="help">${fillHtml(t.account.signedInAs, { email: strong(content.email) })} <a href="${escapeHtml(switchAddressHref(page.returnTo))}">${escapeHtml(t.code.otherAddress)}</a></p>`;
  return renderPage(page.locale, {
    title: fillText(t.passkeys.stepUpTitle, { app: page.appName }),
    bodyHtml: `<h1>${fillHtml(t.passkeys.stepUpTitle, { app: page.appName })}</h1>
<p class="lead">${escapeHtml(t.passkeys.stepUpLead)}</p>
${body}${who}
${PASSKEY_SCRIPTS}`,
  });
}

export type PasskeyNotice = 'added' | 'removed' | 'not_found' | 'passkey_needed';

export interface GuestPasskeys {
  readonly list: readonly Passkey[];
  readonly addRight: AddRight;
  readonly mayRemove: boolean;
  readonly notice?: PasskeyNotice;
}

/** The passkeys part of the guest's own page: the list, remove buttons, and adding one. */
export function renderGuestPasskeys(locale: PageLocale, passkeys: GuestPasskeys, csrfToken: string, selfUrl: string): string {
  const { t, language } = locale;
  const notices: Record<PasskeyNotice, string> = { added: t.passkeys.added, removed: t.passkeys.removed, not_found: t.passkeys.notFound, passkey_needed: t.passkeys.manageNeedsPasskey };
  const notice = passkeys.notice ? `<p class="notice" role="status">${escapeHtml(notices[passkeys.notice])}</p>\n` : '';
  const rows = passkeys.list.map((passkey) => {
    const remove = passkeys.mayRemove
      ? `\n<form method="post" action="/.gatehouse/passkeys/remove">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">
<input type="hidden" name="id" value="${escapeHtml(passkey.id)}">
<button type="submit" class="secondary" aria-label="${escapeHtml(fillText(t.passkeys.removeLabel, { name: passkey.name }))}">${escapeHtml(t.passkeys.remove)}</button>
</form>`
      : '';
    const lastUsed = passkey.lastUsedAt === undefined ? t.passkeys.never : describeMoment(language, new Date(passkey.lastUsedAt));
    return `<section class="session-card passkey">
<h3>${escapeHtml(passkey.name)}</h3>
<table class="session">
<tr><th scope="row">${escapeHtml(t.passkeys.created)}</th><td>${escapeHtml(describeMoment(language, new Date(passkey.createdAt)))}</td></tr>
<tr><th scope="row">${escapeHtml(t.passkeys.lastUsed)}</th><td>${escapeHtml(lastUsed)}</td></tr>
</table>${remove}
</section>`;
  });
  const hints: Record<Exclude<AddRight, 'yes'>, string> = {
    fresh_code_needed: t.passkeys.addNeedsCode,
    passkey_needed: t.passkeys.manageNeedsPasskey,
    too_many: t.passkeys.tooMany,
  };
  const adding =
    passkeys.addRight === 'yes'
      ? renderPasskeyButton(locale, { action: 'add', label: t.passkeys.add, csrfToken, returnTo: `${selfUrl}?passkey=added`, secondary: passkeys.list.length > 0 })
      : `<p class="help">${escapeHtml(hints[passkeys.addRight])}</p>`;
  // Without a passkey session the list cannot be changed: say so once, unless the add hint does.
  const removeHint = passkeys.list.length > 0 && !passkeys.mayRemove && passkeys.addRight !== 'passkey_needed' ? `\n<p class="help">${escapeHtml(t.passkeys.manageNeedsPasskey)}</p>` : '';
  return `<h2>${escapeHtml(t.passkeys.heading)}</h2>
${notice}${passkeys.list.length === 0 ? `<p>${escapeHtml(t.passkeys.none)}</p>` : rows.join('\n')}${removeHint}
${adding}`;
}
