/**
 * Builds the invitation mail `gatehouse invite` sends: who invited the guest, to what, the
 * link, the expiry, and how signing in works (a code sent to this address). Pure: the same
 * input gives the same mail, whatever backend sends it.
 *
 * Like the sign-in mail it is plain on purpose: no remote images or tracking links. It also
 * carries no secret: the link is just the route's address, so a forwarded or leaked
 * invitation lets nobody in without the guest's inbox.
 */
import { AUTOMATED_MAIL_HEADERS, renderMailHtml } from './mail-layout.js';
import { escapeHtml } from '../http/html.js';
import { MailHeaderInjectionError, sanitizeSiteNameForMail } from './compose-sign-in-mail.js';

/** One invitation mail, as the invite command hands it over. */
export interface InvitationMail {
  /** Recipient: one bare, validated and normalised address. */
  readonly to: string;
  /** Name of the route the guest is invited to (from config). */
  readonly routeName: string;
  /** Absolute http(s) URL of the route: where the guest starts. */
  readonly url: string;
  /** Name of the site (from config branding), shown in subject and body. */
  readonly siteName: string;
  /** Who invited the guest: an operator's address or name. */
  readonly invitedBy: string;
  /** When the invitation stops working; absent means never. */
  readonly expiresAt?: Date;
  /** A personal note from the inviter, shown as written (escaped). */
  readonly note?: string;
}

/** The parts of a composed mail, ready for a transport. */
export interface ComposedInvitationMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Extra headers beyond From/To/Subject. */
  readonly headers: Readonly<Record<string, string>>;
}

const LINE_BREAK = /[\r\n]/;
// As in the sign-in mail: one bare address, so `bob@a.test, eve@evil.test` cannot add a
// second recipient (recipient injection).
const BARE_ADDRESS = /^[^\s\p{Cc}@,;<>()"\\[\]:]+@[^\s\p{Cc}@,;<>()"\\[\]:]+$/u;

/**
 * Composes the invitation mail. `from` is only checked here (the transport sets it).
 *
 * Throws `MailHeaderInjectionError` when `to` or `from` carries a line break, `to` is not one
 * bare address, or the finished subject carries a line break. Display values (site name,
 * inviter, route name) lose control characters and bidi overrides before they reach the
 * subject, so a CR/LF there cannot start a header either.
 * Throws `TypeError` when `url` is not an absolute http(s) URL.
 */
export function composeInvitationMail(mail: InvitationMail, from: string): ComposedInvitationMail {
  // Header injection: a CR/LF in To or From would let the rest of the value become headers.
  if (LINE_BREAK.test(mail.to) || LINE_BREAK.test(from)) {
    throw new MailHeaderInjectionError('a mail address contains a line break');
  }
  if (!BARE_ADDRESS.test(mail.to)) {
    throw new MailHeaderInjectionError('the recipient is not one bare address');
  }
  const url = parseHttpUrl(mail.url);
  const siteName = sanitizeSiteNameForMail(mail.siteName) || url.host;
  const invitedBy = sanitizeSiteNameForMail(mail.invitedBy) || 'Someone';
  const routeName = sanitizeSiteNameForMail(mail.routeName);
  const subject = `${invitedBy} invited you to ${siteName}`;
  if (LINE_BREAK.test(subject)) {
    throw new MailHeaderInjectionError('the subject contains a line break');
  }

  const target = routeName && routeName !== siteName ? `${siteName} (${routeName})` : siteName;
  const inviteLine = `${invitedBy} invited you to ${target}.`;
  const expiryLine = mail.expiresAt
    ? `The invitation is valid until ${describeInstant(mail.expiresAt)}.`
    : 'The invitation does not expire.';
  const signInLine = `To sign in, open the link and enter this address (${mail.to}); we will mail you a one-time code. You need no password.`;
  const ignoreLine = 'If you did not expect this invitation, you can ignore this email: nobody can sign in as you without access to this inbox.';
  // A note is the inviter's own words: kept as written, but without control characters
  // (other than line breaks) or bidi overrides, which could disguise it.
  const note = mail.note === undefined ? undefined : cleanNote(mail.note);

  const text = [
    inviteLine,
    ...(note ? ['', `Note from ${invitedBy}:`, ...note.split('\n').map((line) => `> ${line}`)] : []),
    '',
    `Open: ${url.href}`,
    '',
    signInLine,
    expiryLine,
    '',
    ignoreLine,
    '',
  ].join('\n');

  const e = escapeHtml;
  const noteHtml = note
    ? `<p style="margin:0 0 4px;color:#52525b;font-size:14px">Note from ${e(invitedBy)}:</p>
<blockquote style="margin:0 0 16px;padding:8px 12px;border-left:3px solid #d4d4d8;white-space:pre-line">${e(note)}</blockquote>
`
    : '';
  const html = renderMailHtml(
    subject,
    `<p style="margin:0 0 16px"><strong>${e(invitedBy)}</strong> invited you to <strong>${e(target)}</strong>.</p>
${noteHtml}<p style="margin:0 0 16px"><a href="${e(url.href)}" style="display:inline-block;padding:10px 16px;background:#2563eb;color:#ffffff;border-radius:6px;text-decoration:none">Open ${e(siteName)}</a><br>
<span style="font-size:14px;color:#52525b">${e(url.href)}</span></p>
<p style="margin:0 0 16px">${e(signInLine)}<br>
${e(expiryLine)}</p>
<p style="margin:0;color:#52525b;font-size:14px">${e(ignoreLine)}</p>`,
  );

  return {
    subject,
    text,
    html,
    headers: AUTOMATED_MAIL_HEADERS,
  };
}

/** `2025-01-31 14:00 UTC`. */
function describeInstant(instant: Date): string {
  const iso = instant.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const UNSAFE_NOTE_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function cleanNote(note: string): string | undefined {
  const cleaned = note.replace(/\r\n?/g, '\n').replace(UNSAFE_NOTE_CHARACTERS, ' ').trim();
  return cleaned === '' ? undefined : cleaned;
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
    throw new TypeError('url must be an absolute http(s) URL');
  }
  return url;
}
