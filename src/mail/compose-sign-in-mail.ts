/**
 * Builds the sign-in code mail: subject, plain-text and HTML parts, extra headers. Pure: the
 * same input and clock give the same mail, whatever backend sends it.
 *
 * The mail is deliberately plain: no remote images, no tracking pixels or redirecting links,
 * nothing a mail client has to fetch. A guest's inbox should learn nothing about us and we
 * nothing about when they read it.
 */
import { AUTOMATED_MAIL_HEADERS, renderMailHtml } from './mail-layout.js';
import { escapeHtml } from '../http/html.js';
import type { SignInCodeMail } from './notifier.js';

/** The parts of a composed mail, ready for a transport. */
export interface ComposedSignInCodeMail {
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
 * Makes a configured site name safe for a subject line and readable in a body: unsafe
 * characters become spaces, runs of spaces collapse. Config may hold anything.
 */
export function sanitizeSiteNameForMail(siteName: string): string {
  return siteName.replace(UNSAFE_DISPLAY_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Composes the sign-in code mail. `from` is only checked here (the transport sets it);
 * `now` anchors the "(10 minutes)" part of the expiry line.
 *
 * Throws `MailHeaderInjectionError` when `to`, `from` or the finished subject carries a line
 * break, or `to` is not one bare address. Callers validate addresses before this; this is
 * the backstop against header and recipient injection.
 * Throws `TypeError` when `signInUrl` is not an absolute http(s) URL.
 */
export function composeSignInCodeMail(mail: SignInCodeMail, from: string, now: Date = new Date()): ComposedSignInCodeMail {
  // Header injection: a CR/LF in To or From would let the rest of the value become headers.
  if (LINE_BREAK.test(mail.to) || LINE_BREAK.test(from)) {
    throw new MailHeaderInjectionError('a mail address contains a line break');
  }
  if (!BARE_ADDRESS.test(mail.to)) {
    throw new MailHeaderInjectionError('the recipient is not one bare address');
  }
  const signInUrl = parseHttpUrl(mail.signInUrl);
  const siteName = sanitizeSiteNameForMail(mail.siteName) || signInUrl.host;
  const subject = `${mail.code} is your sign-in code for ${siteName}`;
  // Header injection through the code (or anything added to the subject later): the site
  // name is clean by now, so a line break here is a bug upstream; refuse rather than send.
  if (LINE_BREAK.test(subject)) {
    throw new MailHeaderInjectionError('the subject contains a line break');
  }

  const validUntil = describeExpiry(mail.expiresAt, now);
  const ignoreLine = 'If you did not ask for this code, you can ignore this email: without the code nobody can sign in as you.';
  const shareLine = `Do not share this code. Nobody from ${siteName} will ever ask you for it.`;

  const text = [
    `Your sign-in code for ${siteName} is:`,
    '',
    `    ${mail.code}`,
    '',
    `It is valid until ${validUntil}.`,
    `Enter it on the sign-in page where you asked for it: ${signInUrl.href}`,
    '',
    shareLine,
    '',
    ignoreLine,
    '',
  ].join('\n');

  const e = escapeHtml;
  const html = renderMailHtml(
    subject,
    `<p style="margin:0 0 16px">Your sign-in code for <strong>${e(siteName)}</strong> is:</p>
<p style="margin:0 0 16px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:32px;font-weight:700;letter-spacing:6px">${e(mail.code)}</p>
<p style="margin:0 0 16px">It is valid until ${e(validUntil)}.<br>
Enter it on the sign-in page where you asked for it: <a href="${e(signInUrl.href)}" style="color:#2563eb">${e(signInUrl.href)}</a></p>
<p style="margin:0 0 16px">${e(shareLine)}</p>
<p style="margin:0;color:#52525b;font-size:14px">${e(ignoreLine)}</p>`,
  );

  return {
    subject,
    text,
    html,
    headers: AUTOMATED_MAIL_HEADERS,
  };
}

/** `14:32 UTC (10 minutes)`, with the date in front when the code outlives today (UTC). */
export function describeExpiry(expiresAt: Date, now: Date): string {
  const iso = expiresAt.toISOString();
  const time = `${iso.slice(11, 16)} UTC`;
  const sameDay = iso.slice(0, 10) === now.toISOString().slice(0, 10);
  return `${sameDay ? time : `${iso.slice(0, 10)} ${time}`} (${describeDuration(expiresAt.getTime() - now.getTime())})`;
}

function describeDuration(ms: number): string {
  const totalMinutes = Math.round(ms / 60_000);
  if (totalMinutes < 1) return 'less than a minute';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (totalMinutes < 60) return plural(totalMinutes, 'minute');
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  return minutes === 0 ? plural(hours, 'hour') : `${plural(hours, 'hour')} ${plural(minutes, 'minute')}`;
}

function parseHttpUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  // A `javascript:` or `data:` link in a mail is a script waiting for a click.
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError('signInUrl must be an absolute http(s) URL');
  }
  return url;
}
