/**
 * The sign-in code mail's content (SPEC section 4, sign-in): code, site name, expiry and the
 * "ignore it" line in both parts; every value escaped in HTML; nothing remote; and header
 * injection stopped at the last line before the transport.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  composeSignInCodeMail,
  describeExpiry,
  MailHeaderInjectionError,
  sanitizeSiteNameForMail,
} from '../../src/mail/compose-sign-in-mail.js';
import type { SignInCodeMail } from '../../src/mail/notifier.js';

const NOW = new Date('2024-05-01T14:22:00Z');
const FROM = 'Gatehouse <no-reply@example.com>';

function mail(overrides: Partial<SignInCodeMail> = {}): SignInCodeMail {
  return {
    to: 'guest@partner.example',
    code: '123456',
    siteName: 'Wiki',
    signInUrl: 'https://wiki.example.com/.gatehouse/login',
    expiresAt: new Date(NOW.getTime() + 10 * 60_000),
    requestId: 'req-1',
    ...overrides,
  };
}

describe('composeSignInCodeMail', () => {
  test('the subject names the code and the site', () => {
    assert.equal(composeSignInCodeMail(mail(), FROM, NOW).subject, '123456 is your sign-in code for Wiki');
  });

  test('both parts carry the code, the site name, the UTC expiry and the ignore line', () => {
    const composed = composeSignInCodeMail(mail(), FROM, NOW);
    for (const [part, body] of [['text', composed.text], ['html', composed.html]] as const) {
      assert.match(body, /123456/, part);
      assert.match(body, /Wiki/, part);
      assert.match(body, /valid until 14:32 UTC \(10 minutes\)/, part);
      assert.match(body, /If you did not ask for this code, you can ignore this email/, part);
      assert.match(body, /https:\/\/wiki\.example\.com\/\.gatehouse\/login/, part);
    }
  });

  test('every value is HTML-escaped in the HTML part', () => {
    const composed = composeSignInCodeMail(
      mail({ siteName: '<script>alert(1)</script> & "Co"', signInUrl: 'https://wiki.example.com/?a=1&b="x"' }),
      FROM,
      NOW,
    );
    assert.doesNotMatch(composed.html, /<script>/);
    assert.match(composed.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;Co&quot;/);
    assert.match(composed.html, /href="https:\/\/wiki\.example\.com\/\?a=1&amp;b=%22x%22"/);
    // The plain-text part is not HTML: it shows the name as configured.
    assert.match(composed.text, /<script>alert\(1\)<\/script>/);
  });

  test('the HTML part loads nothing remote and tracks nothing', () => {
    const { html } = composeSignInCodeMail(mail(), FROM, NOW);
    assert.doesNotMatch(html, /<img|<link|<script|<iframe|src=|url\(/i);
    // The only link is the sign-in page itself, with no added parameters.
    assert.deepEqual([...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]), ['https://wiki.example.com/.gatehouse/login']);
  });

  test('auto-replies are suppressed by headers', () => {
    assert.deepEqual(composeSignInCodeMail(mail(), FROM, NOW).headers, {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
    });
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
      assert.throws(() => composeSignInCodeMail(input, from ?? FROM, NOW), MailHeaderInjectionError);
    });
  }

  test('the error for a refused recipient does not quote it', () => {
    assert.throws(
      () => composeSignInCodeMail(mail({ to: 'secret-local@x.test\r\nBcc: y@z.test' }), FROM, NOW),
      (error: Error) => !error.message.includes('secret-local'),
    );
  });

  test('a site name with CR/LF cannot add a header: line breaks become spaces', () => {
    const composed = composeSignInCodeMail(mail({ siteName: 'Wiki\r\nBcc: evil@x.test' }), FROM, NOW);
    assert.equal(composed.subject, '123456 is your sign-in code for Wiki Bcc: evil@x.test');
    assert.doesNotMatch(composed.subject, /[\r\n]/);
  });

  test('a sign-in URL that is not http(s) is refused', () => {
    assert.throws(() => composeSignInCodeMail(mail({ signInUrl: 'javascript:alert(1)' }), FROM, NOW), TypeError);
    assert.throws(() => composeSignInCodeMail(mail({ signInUrl: '/relative' }), FROM, NOW), TypeError);
  });

  test('an empty site name falls back to the sign-in host', () => {
    assert.equal(composeSignInCodeMail(mail({ siteName: ' \r\n ' }), FROM, NOW).subject, '123456 is your sign-in code for wiki.example.com');
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

describe('describeExpiry', () => {
  const cases: [string, string, string][] = [
    ['shows minutes for a short code', '2024-05-01T14:32:00Z', '14:32 UTC (10 minutes)'],
    ['says one minute in the singular', '2024-05-01T14:23:00Z', '14:23 UTC (1 minute)'],
    ['says less than a minute near the end', '2024-05-01T14:22:20Z', '14:22 UTC (less than a minute)'],
    ['shows hours and minutes for a long code', '2024-05-01T15:52:00Z', '15:52 UTC (1 hour 30 minutes)'],
    ['shows whole hours', '2024-05-01T16:22:00Z', '16:22 UTC (2 hours)'],
    ['adds the date when the code outlives the UTC day', '2024-05-02T00:12:00Z', '2024-05-02 00:12 UTC (9 hours 50 minutes)'],
    ['shows the time cut to the minute, never later than the real expiry', '2024-05-01T14:32:59Z', '14:32 UTC (11 minutes)'],
  ];
  for (const [name, expiresAt, expected] of cases) {
    test(`it ${name}`, () => assert.equal(describeExpiry(new Date(expiresAt), NOW), expected));
  }
});
