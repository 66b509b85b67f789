/**
 * Builds the sign-in code mail: subject, plain-text and HTML parts, extra headers, in the
 * guest's language. Pure: the same input gives the same mail, whatever backend sends it.
 *
 * Against code-relay phishing (a fake page asks for the guest's address, the attacker asks
 * the real site for a code and gets the guest to read it out) the mail says which site and
 * app asked, when, from which browser and client address, and that the code must never be
 * given to anyone (SPEC section 5).
 *
 * The mail is deliberately plain: no remote images, no tracking pixels or redirecting links,
 * nothing a mail client has to fetch. A guest's inbox should learn nothing about us and we
 * nothing about when they read it.
 */
import { AUTOMATED_MAIL_HEADERS, MAIL_STYLES, renderMailHtml } from './mail-layout.js';
import { escapeHtml } from '../lib/html.js';
import { describeUserAgent } from '../lib/user-agent.js';
import { describeMoment, describeRemaining, fillHtml, fillText, messagesFor, strong } from '../i18n/catalogue.js';
import type { SignInCodeMail } from './notifier.js';

/** The parts of a composed mail, ready for a transport. */
export interface ComposedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Extra headers beyond From/To/Subject. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Thrown when a value would break out of its header; the message never quotes the value. */
export class MailHeaderInjectionError extends Error {
  override readonly name = 'MailHeaderInjectionError';
}

const LINE_BREAK = /[\r\n]/;

// Control characters (CR/LF among them), Unicode line/paragraph separators and the bidi
// overrides. Line breaks in a header start a new header (header injection); bidi overrides
// let a site name display as something else than it is (spoofing, as in "Trojan Source").
const UNSAFE_DISPLAY_CHARACTERS = /[\p{Cc}\p{Zl}\p{Zp}\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu;

// One bare address: exactly one `@`, no whitespace or control characters, and none of the
// characters that make an address list (`,` `;`), a display name (`<` `>` `"`) or a comment
// (`(` `)`). Stops recipient injection: `bob@a.test, eve@evil.test` would be two recipients.
const BARE_ADDRESS = /^[^\s\p{Cc}@,;<>()"\\[\]:]+@[^\s\p{Cc}@,;<>()"\\[\]:]+$/u;

/**
 * Makes a configured name safe for a subject line and readable in a body: unsafe
 * characters become spaces, runs of spaces collapse. Config may hold anything.
 */
export function sanitizeSiteNameForMail(siteName: string): string {
  return siteName.replace(UNSAFE_DISPLAY_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Header and recipient injection backstops shared by every mail: callers validate
 * addresses before this; a CR/LF in To or From would let the rest become headers.
 */
export function assertSafeMailAddresses(to: string, from: string): void {
  if (LINE_BREAK.test(to) || LINE_BREAK.test(from)) throw new MailHeaderInjectionError('a mail address contains a line break');
  if (!BARE_ADDRESS.test(to)) throw new MailHeaderInjectionError('the recipient is not one bare address');
}

/** A subject that could still carry a line break is refused rather than sent. */
export function assertSafeSubject(subject: string): void {
  if (LINE_BREAK.test(subject)) throw new MailHeaderInjectionError('the subject contains a line break');
}

/** An absolute http(s) URL; a `javascript:` or `data:` link in a mail is a script waiting for a click. */
export function parseHttpUrl(text: string, what: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new TypeError(`${what} must be an absolute http(s) URL`);
  return url;
}

/**
 * Composes the sign-in code mail. `from` is only checked here (the transport sets it).
 *
 * Throws `MailHeaderInjectionError` when `to`, `from` or the finished subject carries a line
 * break, or `to` is not one bare address. Throws `TypeError` when `codePageUrl` or
 * `siteOrigin` is not an absolute http(s) URL.
 */
export function composeSignInCodeMail(mail: SignInCodeMail, from: string): ComposedMail {
  assertSafeMailAddresses(mail.to, from);
  const codePage = parseHttpUrl(mail.codePageUrl, 'codePageUrl');
  const site = parseHttpUrl(mail.siteOrigin, 'siteOrigin').origin;
  const t = messagesFor(mail.language);
  const app = sanitizeSiteNameForMail(mail.appName) || codePage.host;
  const subject = fillText(t.mail.subject, { code: mail.code, app });
  assertSafeSubject(subject);

  const validity = fillText(t.mail.validity, {
    duration: describeRemaining(mail.language, mail.expiresAt.getTime() - mail.requestedAt.getTime()),
    time: describeMoment(mail.language, mail.expiresAt),
  });
  // Only names from a fixed list reach the mail: the User-Agent itself is the client's to choose.
  const agent = describeUserAgent(mail.userAgent);
  const browser = agent.browser && agent.system ? fillText(t.mail.browserOn, { browser: agent.browser, os: agent.system }) : (agent.browser ?? agent.system ?? t.mail.unknownBrowser);
  const requestRows: ReadonlyArray<readonly [string, string]> = [
    [t.mail.site, site],
    [t.mail.app, app],
    [t.mail.when, describeMoment(mail.language, mail.requestedAt)],
    [t.mail.browser, browser],
    [t.mail.address, mail.clientAddress || '?'],
  ];
  const never = fillText(t.mail.never, { app });

  const labelWidth = Math.max(...requestRows.map(([label]) => label.length)) + 2;
  const text = [
    fillText(t.mail.intro, { app }),
    '',
    `    ${mail.code}`,
    '',
    validity,
    t.mail.enter,
    '',
    never,
    '',
    `${t.mail.requestHeading}:`,
    ...requestRows.map(([label, value]) => `  ${`${label}:`.padEnd(labelWidth)}${value}`),
    '',
    `${t.mail.openPage}: ${codePage.href}`,
    '',
    t.mail.notYou,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = renderMailHtml(
    mail.language,
    subject,
    `<p style="${MAIL_STYLES.paragraph}">${fillHtml(t.mail.intro, { app: strong(app) })}</p>
<p style="${MAIL_STYLES.code}">${e(mail.code)}</p>
<p style="${MAIL_STYLES.paragraph}">${e(validity)}<br>
${e(t.mail.enter)}</p>
<p style="${MAIL_STYLES.warning}">${e(never)}</p>
<p style="${MAIL_STYLES.heading}">${e(t.mail.requestHeading)}</p>
<table role="presentation" style="${MAIL_STYLES.table}">
${requestRows.map(([label, value]) => `<tr><td style="${MAIL_STYLES.label}">${e(label)}</td><td style="${MAIL_STYLES.value}">${e(value)}</td></tr>`).join('\n')}
</table>
<p style="${MAIL_STYLES.paragraph}"><a href="${e(codePage.href)}" style="${MAIL_STYLES.link}">${e(t.mail.openPage)}</a></p>
<p style="${MAIL_STYLES.small}">${e(t.mail.notYou)}</p>`,
  );

  return { subject, text, html, headers: AUTOMATED_MAIL_HEADERS };
}
