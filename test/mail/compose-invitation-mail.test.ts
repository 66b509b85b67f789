/**
 * The invitation mail (issue 5, `gatehouse invite`): who invited whom to what, the link, the
 * expiry, how signing in works and the "ignore it" line in both parts; every value escaped in
 * HTML; header and recipient injection refused.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { composeInvitationMail, type InvitationMail } from '../../src/mail/compose-invitation-mail.js';
import { MailHeaderInjectionError } from '../../src/mail/compose-sign-in-mail.js';

const FROM = 'Gatehouse <no-reply@example.com>';

function mail(overrides: Partial<InvitationMail> = {}): InvitationMail {
  return {
    to: 'guest@partner.example',
    url: 'https://wiki.example.com/',
    appName: 'Example Wiki',
    language: 'en',
    invitedBy: 'ops@example.com',
    expiresAt: new Date('2025-01-31T14:00:00Z'),
    note: 'For the Q1 audit.',
    ...overrides,
  };
}

describe('composeInvitationMail', () => {
  test('the subject says who invited the guest to what', () => {
    assert.equal(composeInvitationMail(mail(), FROM).subject, 'ops@example.com invited you to Example Wiki');
  });

  test('both parts name the inviter, the app, the link, the expiry, the code sign-in, the note and the ignore line', () => {
    const composed = composeInvitationMail(mail(), FROM);
    for (const [part, body] of [['text', composed.text], ['html', composed.html]] as const) {
      assert.match(body, /ops@example\.com/, part);
      assert.match(body, /Example Wiki/, part);
      assert.match(body, /https:\/\/wiki\.example\.com\//, part);
      assert.match(body, /valid until 31 January 2025 at 14:00 UTC/, part);
      assert.match(body, /guest@partner\.example/, part);
      assert.match(body, /one-time code/, part);
      assert.match(body, /For the Q1 audit\./, part);
      assert.match(body, /you can ignore this email/, part);
    }
    assert.match(composed.html, /<a href="https:\/\/wiki\.example\.com\/"/);
  });

  test('an invitation without expiry or note says it does not expire and shows no note', () => {
    const composed = composeInvitationMail(mail({ expiresAt: undefined, note: undefined }), FROM);
    for (const body of [composed.text, composed.html]) {
      assert.match(body, /does not expire/);
      assert.doesNotMatch(body, /Note from/);
    }
  });

  test('every shown value is escaped in the HTML part', () => {
    const composed = composeInvitationMail(
      mail({
        appName: '<b>Wiki</b> "route"&',
        invitedBy: "<img src=x onerror='alert(1)'>",
        note: '<script>alert(1)</script>\nsecond line',
        url: 'https://wiki.example.com/?a="><script>',
      }),
      FROM,
    );
    assert.doesNotMatch(composed.html, /<script>|<img|<b>Wiki/);
    assert.match(composed.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(composed.html, /&lt;b&gt;Wiki&lt;\/b&gt;/);
    assert.match(composed.html, /&quot;route&quot;&amp;/);
    // The note keeps its lines in the text part.
    assert.match(composed.text, /> <script>alert\(1\)<\/script>\n> second line/);
  });

  test('the mail fetches nothing remote', () => {
    const { html } = composeInvitationMail(mail(), FROM);
    assert.doesNotMatch(html, /<img|<link|<script|url\(/i);
  });

  test('it is marked as machine-sent so auto-responders stay quiet', () => {
    assert.deepEqual(composeInvitationMail(mail(), FROM).headers, {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
    });
  });

  for (const [name, overrides, from] of [
    ['a line break in the recipient', { to: 'guest@partner.example\r\nBcc: eve@evil.example' }, FROM],
    ['a bare LF in the recipient', { to: 'guest@partner.example\nBcc: eve@evil.example' }, FROM],
    ['a line break in the sender', {}, 'Gatehouse <no-reply@example.com>\r\nBcc: eve@evil.example'],
    ['a second recipient', { to: 'guest@partner.example, eve@evil.example' }, FROM],
    ['a display name as recipient', { to: 'Eve <eve@evil.example>' }, FROM],
  ] as const) {
    test(`header injection is refused: ${name}`, () => {
      assert.throws(() => composeInvitationMail(mail(overrides), from), MailHeaderInjectionError);
    });
  }

  test('line breaks and bidi overrides in the inviter or app name never reach the subject', () => {
    const composed = composeInvitationMail(
      mail({ invitedBy: 'ops\r\nBcc: eve@evil.example', appName: 'Wiki\u202egnp.exe' }),
      FROM,
    );
    assert.doesNotMatch(composed.subject, /[\r\n\u202e]/);
    assert.equal(composed.subject, 'ops Bcc: eve@evil.example invited you to Wiki gnp.exe');
    assert.doesNotMatch(composed.text, /\u202e/);
  });

  test('German and French invitations speak the language throughout', () => {
    const de = composeInvitationMail(mail({ language: 'de' }), FROM);
    assert.equal(de.subject, 'ops@example.com hat Sie zu Example Wiki eingeladen');
    assert.match(de.text, /Die Einladung gilt bis 31\. Januar 2025 um 14:00 UTC\./);
    assert.match(de.html, /<html lang="de">/);
    const fr = composeInvitationMail(mail({ language: 'fr' }), FROM);
    assert.equal(fr.subject, 'ops@example.com vous invite à Example Wiki');
    assert.match(fr.text, /L’invitation est valable jusqu’au 31 janvier 2025 à 14:00 UTC\./);
  });

  for (const url of ['javascript:alert(1)', 'data:text/html,hi', '/relative', 'not a url']) {
    test(`a link that is not absolute http(s) is refused: ${url}`, () => {
      assert.throws(() => composeInvitationMail(mail({ url }), FROM), TypeError);
    });
  }
});
