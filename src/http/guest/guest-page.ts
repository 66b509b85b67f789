/**
 * The guest's own page, `/.gatehouse/` (SPEC section 7): who they are signed in as, this
 * session and their others (when, which browser, roughly where), sign out here, sign out
 * everywhere else. It shares the sign-in pages' layout and languages and works without
 * JavaScript.
 */
import { escapeHtml } from '../../lib/html.js';
import { describeUserAgent } from '../../lib/user-agent.js';
import type { ApproximatePlace } from '../../lib/approximate-place.js';
import { renderPage, type PageLocale } from '../pages.js';
import { describeMoment, fillHtml, fillText, plural, strong } from '../../i18n/catalogue.js';
import { loginHref } from '../sign-in/sign-in-pages.js';
import { PASSKEY_SCRIPTS, renderGuestPasskeys, type GuestPasskeys } from '../passkeys/passkey-pages.js';

export const GUEST_PAGE_PATH = '/.gatehouse/';

/** One session as the page shows it. */
export interface GuestSessionView {
  readonly signedInAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly userAgent: string;
  readonly place: ApproximatePlace;
}

export interface GuestPageContent {
  readonly email: string;
  readonly current: GuestSessionView;
  /** The guest's other live sessions, newest use first. */
  readonly others: readonly GuestSessionView[];
  readonly csrfToken: string;
  /** How many other sessions the last "sign out everywhere else" ended. */
  readonly endedOthers?: number;
  readonly passkeys: GuestPasskeys;
}

function describeBrowser(locale: PageLocale, userAgent: string): string {
  const { browser, system } = describeUserAgent(userAgent);
  const { t } = locale;
  if (browser && system) return fillText(t.account.browserOn, { browser, os: system });
  return browser ?? system ?? t.account.unknownBrowser;
}

const regionNames = new Map<string, Intl.DisplayNames>();

function describePlace(locale: PageLocale, place: ApproximatePlace): string {
  const { t, language } = locale;
  if (place.kind === 'local') return t.account.localNetwork;
  if (place.kind === 'unknown') return t.account.unknownPlace;
  let names = regionNames.get(language);
  if (!names) regionNames.set(language, (names = new Intl.DisplayNames([language], { type: 'region' })));
  return names.of(place.code) ?? place.code;
}

function sessionDetails(locale: PageLocale, session: GuestSessionView): string {
  const { t, language } = locale;
  const row = (name: string, value: string) => `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(value)}</td></tr>`;
  return `<table class="session">
${row(t.account.signedInAt, describeMoment(language, session.signedInAt))}
${row(t.account.lastUsed, describeMoment(language, session.lastUsedAt))}
${row(t.account.place, describePlace(locale, session.place))}
${row(t.account.endsAt, describeMoment(language, session.expiresAt))}
</table>`;
}

function sessionBlock(locale: PageLocale, heading: string, session: GuestSessionView, level: 'h2' | 'h3'): string {
  return `<section class="session-card">
<${level}>${escapeHtml(heading)}</${level}>
${sessionDetails(locale, session)}
</section>`;
}

function postButton(action: string, label: string, csrfToken: string, secondary: boolean, rd?: string): string {
  const returnField = rd ? `\n<input type="hidden" name="rd" value="${escapeHtml(rd)}">` : '';
  return `<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrfToken)}">${returnField}
<button type="submit"${secondary ? ' class="secondary"' : ''}>${escapeHtml(label)}</button>
</form>`;
}

/** Signed in: the guest's sessions and the two ways out. */
export function renderGuestPage(locale: PageLocale, content: GuestPageContent): string {
  const { t, language } = locale;
  const ended =
    content.endedOthers === undefined ? '' : `<p class="notice" role="status">${escapeHtml(plural(language, t.account.signedOutOthers, content.endedOthers))}</p>\n`;
  const others =
    content.others.length === 0
      ? `<p>${escapeHtml(t.account.noOtherSessions)}</p>`
      : `${content.others.map((session) => sessionBlock(locale, describeBrowser(locale, session.userAgent), session, 'h3')).join('\n')}
${postButton('/.gatehouse/sessions/end-others', t.account.signOutOthers, content.csrfToken, true)}`;
  return renderPage(locale, {
    title: t.account.title,
    bodyHtml: `<h1>${escapeHtml(t.account.title)}</h1>
<p class="lead">${fillHtml(t.account.signedInAs, { email: strong(content.email) })}</p>
${ended}${sessionBlock(locale, `${t.account.thisSession} · ${describeBrowser(locale, content.current.userAgent)}`, content.current, 'h2')}
${postButton('/.gatehouse/logout', t.account.signOut, content.csrfToken, false, GUEST_PAGE_PATH)}
<h2>${escapeHtml(t.account.otherSessions)}</h2>
${others}
<p class="help">${escapeHtml(t.account.help)}</p>
${renderGuestPasskeys(locale, content.passkeys, content.csrfToken, GUEST_PAGE_PATH)}
${PASSKEY_SCRIPTS}`,
  });
}

/** Not signed in (or the session ended): a way to sign in, back to this page. */
export function renderGuestPageSignedOut(locale: PageLocale): string {
  const { t } = locale;
  return renderPage(locale, {
    title: t.account.notSignedInTitle,
    bodyHtml: `<h1>${escapeHtml(t.account.notSignedInTitle)}</h1>
<p class="lead">${escapeHtml(t.account.notSignedIn)}</p>
<p><a class="button" href="${escapeHtml(loginHref(GUEST_PAGE_PATH))}">${escapeHtml(t.account.signIn)}</a></p>`,
  });
}
