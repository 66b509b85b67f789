/**
 * Builds the invitation mail `gatehouse invite` sends: who invited the guest, to what, the
 * link, the expiry, and how signing in works (a code sent to this address), in the
 * configured language. Pure: the same input gives the same mail, whatever backend sends it.
 *
 * Like the sign-in mail it is plain on purpose: no remote images or tracking links. It also
 * carries no secret: the link is just the route's address, so a forwarded or leaked
 * invitation lets nobody in without the guest's inbox.
 */
import { AUTOMATED_MAIL_HEADERS, MAIL_STYLES, renderMailHtml } from './mail-layout.js';
import { escapeHtml } from '../lib/html.js';
import { describeMoment, fillHtml, fillText, messagesFor, strong } from '../i18n/catalogue.js';
import {
  assertSafeMailAddresses,
  assertSafeSubject,
  parseHttpUrl,
  sanitizeSiteNameForMail,
  type ComposedMail,
} from './compose-sign-in-mail.js';
import type { InvitationMailRequest } from './notifier.js';

/** One invitation mail, as the invite command hands it over. */
export type InvitationMail = Omit<InvitationMailRequest, 'requestId'>;

/**
 * Composes the invitation mail. `from` is only checked here (the transport sets it).
 *
 * Throws `MailHeaderInjectionError` when `to` or `from` carries a line break, `to` is not one
 * bare address, or the finished subject carries a line break. Display values (app name,
 * inviter) lose control characters and bidi overrides before they reach the subject, so a
 * CR/LF there cannot start a header either.
 * Throws `TypeError` when `url` is not an absolute http(s) URL.
 */
export function composeInvitationMail(mail: InvitationMail, from: string): ComposedMail {
  assertSafeMailAddresses(mail.to, from);
  const url = parseHttpUrl(mail.url, 'url');
  const t = messagesFor(mail.language).invitation;
  const app = sanitizeSiteNameForMail(mail.appName) || url.host;
  const inviter = sanitizeSiteNameForMail(mail.invitedBy) || t.someone;
  const subject = fillText(t.subject, { inviter, app });
  assertSafeSubject(subject);

  const expiryLine = mail.expiresAt ? fillText(t.validUntil, { time: describeMoment(mail.language, mail.expiresAt) }) : t.noExpiry;
  const signInLine = fillText(t.howToSignIn, { email: mail.to });
  // A note is the inviter's own words: kept as written, but without control characters
  // (other than line breaks) or bidi overrides, which could disguise it.
  const note = mail.note === undefined ? undefined : cleanNote(mail.note);
  const noteHeading = fillText(t.note, { inviter });

  const text = [
    fillText(t.body, { inviter, app }),
    ...(note ? ['', noteHeading, ...note.split('\n').map((line) => `> ${line}`)] : []),
    '',
    `${fillText(t.open, { app })}: ${url.href}`,
    '',
    signInLine,
    expiryLine,
    '',
    t.ignore,
    '',
  ].join('\n');

  const e = escapeHtml;
  const noteHtml = note
    ? `<p style="margin:0 0 4px;color:#52525b;font-size:14px">${e(noteHeading)}</p>
<blockquote style="${MAIL_STYLES.quote}">${e(note)}</blockquote>
`
    : '';
  const html = renderMailHtml(
    mail.language,
    subject,
    `<p style="${MAIL_STYLES.paragraph}">${fillHtml(t.body, { inviter: strong(inviter), app: strong(app) })}</p>
${noteHtml}<p style="${MAIL_STYLES.paragraph}"><a href="${e(url.href)}" style="${MAIL_STYLES.button}">${e(fillText(t.open, { app }))}</a><br>
<span style="font-size:14px;color:#52525b">${e(url.href)}</span></p>
<p style="${MAIL_STYLES.paragraph}">${e(signInLine)}<br>
${e(expiryLine)}</p>
<p style="${MAIL_STYLES.small}">${e(t.ignore)}</p>`,
  );

  return { subject, text, html, headers: AUTOMATED_MAIL_HEADERS };
}

const UNSAFE_NOTE_CHARACTERS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function cleanNote(note: string): string | undefined {
  const cleaned = note.replace(/\r\n?/g, '\n').replace(UNSAFE_NOTE_CHARACTERS, ' ').trim();
  return cleaned === '' ? undefined : cleaned;
}
