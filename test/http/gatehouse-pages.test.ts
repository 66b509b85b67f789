/**
 * The gateway's own pages as an HTTP client sees them, through supertest on the gateway's
 * server (built, not listening; supertest gives it a port of its own): headers, form fields,
 * the post/redirect/get answers, the CSRF refusals, the stylesheets' caching, sign-out.
 * What a browser makes of them is tested in test/e2e with Chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import supertest from 'supertest';
import { parseConfigText } from '../../src/config/load-config.js';
import { buildGateway, type Gateway } from '../../src/gateway.js';
import { createSilentLogger } from '../../src/log/logger.js';
import type { Notifier, SignInCodeMail } from '../../src/mail/notifier.js';

const mails: SignInCodeMail[] = [];
const notifier: Notifier = {
  async sendSignInCode(mail) {
    mails.push(mail);
    return 'sent';
  },
  async sendInvitation() {
    return 'sent';
  },
  async close() {},
};

let gateway: Gateway;
const page = (path: string) => supertest(gateway.server).get(path).set('host', 'app.test').set('accept', 'text/html');

before(async () => {
  const { config } = parseConfigText(
    `
listen: 127.0.0.1:0
admin: { listen: "off" }
session:
  secret: pages-secret-with-at-least-32-characters
routes:
  - name: app
    title: Team Wiki
    from: http://app.test/
    to: http://127.0.0.1:9
    allow: ["*@example.com"]
`,
    'pages.yaml',
    {},
  );
  gateway = await buildGateway(config, { logger: createSilentLogger(), notifier, collectProcessMetrics: false });
});
after(() => gateway.shutdown(0));

function cookieOf(response: supertest.Response): string {
  const cookies = ([] as string[]).concat(response.headers['set-cookie'] ?? []);
  return cookies.map((line) => line.split(';')[0]).join('; ');
}

describe('the sign-in pages over HTTP', () => {
  test('the email form: security headers, no caching, the language, the app, and a CSRF field', async () => {
    const login = await page('/.gatehouse/login?rd=%2Fdocs').set('accept-language', 'fr');
    assert.equal(login.status, 200);
    assert.equal(login.headers['referrer-policy'], 'same-origin');
    assert.match(String(login.headers['content-security-policy']), /default-src 'none'/);
    assert.equal(login.headers['cache-control'], 'no-store');
    assert.equal(login.headers['content-language'], 'fr');
    assert.match(login.text, /<h1>Se connecter à Team Wiki<\/h1>/);
    assert.match(login.text, /<input type="hidden" name="csrf" value="[A-Za-z0-9_-]{40,}">/);
    assert.match(login.text, /<input type="hidden" name="rd" value="\/docs">/);
    assert.match(cookieOf(login), /^gatehouse_csrf=/);
  });

  test('a form without its CSRF token is refused with the "expired" page; with it, the answer is a 303 to the code page', async () => {
    const login = await page('/.gatehouse/login');
    const cookie = cookieOf(login);
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.text)![1]!;
    const forged = await supertest(gateway.server).post('/.gatehouse/login').set('host', 'app.test').set('accept', 'text/html').set('cookie', cookie).type('form').send({ email: 'bob@example.com' });
    assert.equal(forged.status, 403);
    assert.match(forged.text, /This page has expired/);
    const asked = await supertest(gateway.server).post('/.gatehouse/login').set('host', 'app.test').set('accept', 'text/html').set('cookie', cookie).type('form').send({ email: 'bob@example.com', csrf, rd: '/docs' });
    assert.equal(asked.status, 303);
    assert.equal(asked.headers.location, '/.gatehouse/code?rd=%2Fdocs');
    assert.match(cookieOf(asked), /gatehouse_flow=/);
    const code = await page(asked.headers.location).set('cookie', `${cookie}; ${cookieOf(asked)}`);
    assert.equal(code.status, 200);
    assert.match(code.text, /autocomplete="one-time-code"/);
    assert.match(code.text, /maxlength="12"/, 'eight digits and room for spaces');
  });

  test('the code page without a sign-in in this browser is the email form with a note', async () => {
    const code = await page('/.gatehouse/code?rd=%2F');
    assert.equal(code.status, 200);
    assert.match(code.text, /A code works only in the browser that asked for it/);
    assert.match(code.text, /name="email"/);
  });

  test('the stylesheets are cached by ETag; brand.css carries readable brand colours', async () => {
    const css = await page('/.gatehouse/assets/gatehouse.css');
    assert.equal(css.status, 200);
    assert.match(String(css.headers['content-type']), /^text\/css/);
    const again = await page('/.gatehouse/assets/gatehouse.css').set('if-none-match', String(css.headers.etag));
    assert.equal(again.status, 304);
    const brand = await page('/.gatehouse/assets/brand.css');
    assert.match(brand.text, /--brand: #2563eb; --on-brand: #ffffff; --link-light: #2563eb; --link-dark: #/);
  });

  test('sign-out without a session still answers the signed-out page and clears the cookie', async () => {
    const out = await page('/.gatehouse/logout');
    assert.equal(out.status, 200);
    assert.match(out.text, /You are signed out/);
    assert.match(([] as string[]).concat(out.headers['set-cookie'] ?? []).join(), /gatehouse=; Path=\/; Max-Age=0/);
    const switching = await page('/.gatehouse/logout?rd=%2Fdocs&next=login');
    assert.equal(switching.status, 303);
    assert.equal(switching.headers.location, '/.gatehouse/login?rd=%2Fdocs');
  });

  test('anything else under /.gatehouse/ is a 404 page with the request id', async () => {
    const missing = await page('/.gatehouse/admin');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /Page not found/);
    assert.match(missing.text, /class="request-id"/);
  });
});
