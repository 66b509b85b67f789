/**
 * The sign-in code mail's content (SPEC sections 4 and 5): the code, the app, when it
 * expires; who asked (site, app, time, browser, client address) and that the code is never
 * to be given to anyone, against code-relay phishing; every value escaped in HTML; nothing
 * remote; header injection stopped at the last line before the transport; three languages.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { composeSignInCodeMail, MailHeaderInjectionError, sanitizeSiteNameForMail } from '../../src/mail/compose-sign-in-mail.js';
import type { SignInCodeMail } from '../../src/mail/notifier.js';
import { SAMPLE_REQUESTED_AT, sampleSignInCodeMail } from '../helpers/mail-fixtures.js';

const FROM = 'Gatehouse <no-reply@example.com>';
const mail = sampleSignInCodeMail;

describe('composeSignInCodeMail', () => {
  test('the subject names the code and the app', () => {
    assert.equal(composeSignInCodeMail(mail(), FROM).subject, '482913 is your sign-in code for Wiki');
  });

  test('both parts carry the code, the app, the expiry, who asked, the warning and the way back', () => {
    const composed = composeSignInCodeMail(mail(), FROM);
    for (const [part, body] of [['text', composed.text], ['html', composed.html]] as const) {
      assert.match(body, /482913/, part);
      assert.match(body, /Your code to sign in to (<strong>)?Wiki/, part);
      assert.match(body, /valid for 10 minutes, until 1 May 2024 at 14:32 UTC/, part);
      assert.match(body, /Never give this code to anyone/, part);
      assert.match(body, /Who asked for this code/, part);
      assert.match(body, /https:\/\/wiki\.example\.com(?!\/\.gatehouse)/, part);
      assert.match(body, /1 May 2024 at 14:22 UTC/, part);
      assert.match(body, /Chrome on Windows/, part);
      assert.match(body, /203\.0\.113\.7/, part);
      assert.match(body, /https:\/\/wiki\.example\.com\/\.gatehouse\/code\?rd=%2F/, part);
      assert.match(body, /Not you\? Ignore this email/, part);
    }
  });

  test('a code valid for under a minute says "less than a minute", never "0 minutes"', () => {
    const composed = composeSignInCodeMail(mail({ expiresAt: new Date(SAMPLE_REQUESTED_AT.getTime() + 20_000) }), FROM);
    assert.match(composed.text, /valid for less than a minute/);
    assert.doesNotMatch(composed.text, /\b0 minutes/);
  });

  test("the client's User-Agent reaches the mail only as a known browser name, never as its own text", () => {
    const composed = composeSignInCodeMail(mail({ userAgent: 'Evil/1.0 <script>click https://evil.test</script>' }), FROM);
    for (const body of [composed.text, composed.html]) {
      assert.match(body, /Unknown browser/);
      assert.doesNotMatch(body, /evil\.test|Evil\/1\.0|<script>/);
    }
    assert.match(composeSignInCodeMail(mail({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1' }), FROM).text, /Safari on iOS/);
  });

  test('every value is HTML-escaped in the HTML part', () => {
    const composed = composeSignInCodeMail(
      mail({ appName: '<script>alert(1)</script> & "Co"', codePageUrl: 'https://wiki.example.com/.gatehouse/code?rd=/a&b="x"' }),
      FROM,
    );
    assert.doesNotMatch(composed.html, /<script>/);
    assert.match(composed.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;Co&quot;/);
    assert.match(composed.html, /href="https:\/\/wiki\.example\.com\/\.gatehouse\/code\?rd=\/a&amp;b=%22x%22"/);
    // The plain-text part is not HTML: it shows the name as configured.
    assert.match(composed.text, /<script>alert\(1\)<\/script>/);
  });

  test('the HTML part loads nothing remote and links only to the code page', () => {
    const { html } = composeSignInCodeMail(mail(), FROM);
    assert.doesNotMatch(html, /<img|<link|<script|<iframe|src=|url\(/i);
    assert.deepEqual([...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]), ['https://wiki.example.com/.gatehouse/code?rd=%2F']);
  });

  test('auto-replies are suppressed by headers', () => {
    assert.deepEqual(composeSignInCodeMail(mail(), FROM).headers, {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
    });
  });

  test('German and French mails speak the language throughout', () => {
    const de = composeSignInCodeMail(mail({ language: 'de' }), FROM);
    assert.equal(de.subject, '482913 ist Ihr Anmeldecode für Wiki');
    assert.match(de.text, /Er gilt 10 Minuten lang, bis 1\. Mai 2024 um 14:32 UTC\./);
    assert.match(de.text, /Geben Sie diesen Code niemals weiter/);
    assert.match(de.text, /Chrome auf Windows/);
    assert.match(de.html, /<html lang="de">/);
    const fr = composeSignInCodeMail(mail({ language: 'fr' }), FROM);
    assert.equal(fr.subject, '482913 est votre code de connexion pour Wiki');
    assert.match(fr.text, /Il est valable 10 minutes, jusqu’au 1 mai 2024 à 14:32 UTC\./);
    assert.match(fr.text, /Ne donnez jamais ce code à personne/);
    assert.match(fr.text, /Chrome sous Windows/);
  });

  const injectionCases: { name: string; mail: SignInCodeMail; from?: string }[] = [
    { name: 'a recipient with CR/LF', mail: mail({ to: 'guest@partner.example\r\nBcc: evil@x.test' }) },
    { name: 'a recipient with a bare LF', mail: mail({ to: 'guest@partner.example\nBcc: evil@x.test' }) },
    { name: 'a recipient list', mail: mail({ to: 'guest@partner.example, evil@x.test' }) },
    { name: 'a recipient with a display name', mail: mail({ to: 'Guest <evil@x.test>' }) },
    { name: 'a recipient without @', mail: mail({ to: 'guest' }) },
    { name: 'a code with CR/LF (it ends up in the subject)', mail: mail({ code: '123456\r\nBcc: evil@x.test' }) },
    { name: 'a From with CR/LF', mail: mail(), from: 'Gatehouse <no-reply@example.com>\r\nBcc: evil@x.test' },
  ];
  for (const { name, mail: input, from } of injectionCases) {
    test(`${name} is refused with a header injection error`, () => {
      assert.throws(() => composeSignInCodeMail(input, from ?? FROM), MailHeaderInjectionError);
    });
  }

  test('the error for a refused recipient does not quote it', () => {
    assert.throws(
      () => composeSignInCodeMail(mail({ to: 'secret-local@x.test\r\nBcc: y@z.test' }), FROM),
      (error: Error) => !error.message.includes('secret-local'),
    );
  });

  test('an app name with CR/LF cannot add a header: line breaks become spaces', () => {
    const composed = composeSignInCodeMail(mail({ appName: 'Wiki\r\nBcc: evil@x.test' }), FROM);
    assert.equal(composed.subject, '482913 is your sign-in code for Wiki Bcc: evil@x.test');
    assert.doesNotMatch(composed.subject, /[\r\n]/);
  });

  test('a code page or site URL that is not http(s) is refused', () => {
    assert.throws(() => composeSignInCodeMail(mail({ codePageUrl: 'javascript:alert(1)' }), FROM), TypeError);
    assert.throws(() => composeSignInCodeMail(mail({ codePageUrl: '/relative' }), FROM), TypeError);
    assert.throws(() => composeSignInCodeMail(mail({ siteOrigin: 'data:text/html,hi' }), FROM), TypeError);
  });

  test('an empty app name falls back to the host', () => {
    assert.equal(composeSignInCodeMail(mail({ appName: ' \r\n ' }), FROM).subject, '482913 is your sign-in code for wiki.example.com');
  });
});

describe('sanitizeSiteNameForMail', () => {
  const cases: [string, string, string][] = [
    ['keeps an ordinary name', 'Partner Wiki', 'Partner Wiki'],
    ['turns CR/LF into a space', 'Wiki\r\nBcc: x@y.test', 'Wiki Bcc: x@y.test'],
    ['turns Unicode line separators into a space', 'Wiki\u2028Bcc\u2029x', 'Wiki Bcc x'],
    ['drops bidi overrides that would disguise the name', 'Wiki\u202egnp.exe', 'Wiki gnp.exe'],
    ['drops NUL and other control characters', 'Wi\u0000ki\u0007', 'Wi ki'],
    ['collapses runs of whitespace and trims', '  Wiki \t  Docs  ', 'Wiki Docs'],
    ['keeps non-ASCII letters', 'Café Wiki', 'Café Wiki'],
  ];
  for (const [name, input, expected] of cases) {
    test(`it ${name}`, () => assert.equal(sanitizeSiteNameForMail(input), expected));
  }
});
