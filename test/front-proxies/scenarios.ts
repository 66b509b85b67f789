/**
 * What an ops team with nginx or Caddy in front of an app relies on, asked of the real proxy
 * running the example config (front-proxy-world.ts). The same scenarios run for each proxy.
 *
 * The guest parts are Chromium, used as a person does: open the app's URL, type the address,
 * press Enter, type the mailed code, press Enter, read the page. The attacks are raw HTTP
 * requests to the proxy with the headers an attacker would add.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { request, type SimpleResponse } from '../helpers/servers.js';
import { startVerifyingApp, type FrontProxySuite } from './front-proxy-world.js';

interface AppAnswer {
  readonly email: string;
  readonly path: string;
  readonly method: string;
}

async function typeInto(page: Page, label: string, text: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).click();
  await page.keyboard.type(text);
}

async function appAnswer(page: Page): Promise<AppAnswer> {
  return JSON.parse(await page.locator('body').innerText()) as AppAnswer;
}

export function frontProxyScenarios(suite: FrontProxySuite): void {
  const { skip } = suite;
  const world = () => suite.world;

  /** Opens `path` on the app's host, is sent to sign in, signs in by code; ends on `path`. */
  async function signInThroughProxy(email: string, path: string, nthMail = 1): Promise<{ context: BrowserContext; page: Page }> {
    const context = await suite.newContext();
    const page = await context.newPage();
    await page.goto(`${world().origin}${path}`);
    assert.equal(new URL(page.url()).origin, world().origin, 'the sign-in page is on the app’s own host');
    assert.match(new URL(page.url()).pathname, /^\/\.gatehouse\/login/);
    await typeInto(page, 'Email address', email);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/\.gatehouse\/code\?/);
    const code = await world().codeFor(email, nthMail);
    await typeInto(page, 'Sign-in code', code);
    await Promise.all([page.waitForURL(`${world().origin}${path}`), page.keyboard.press('Enter')]);
    return { context, page };
  }

  async function cookieOf(context: BrowserContext): Promise<string> {
    const cookies = await context.cookies(world().origin);
    return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  /** A request to the front proxy, as any client on the network can send it. */
  function throughProxy(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<SimpleResponse> {
    return request(world().proxy.port, { method, path, headers: { host: new URL(world().origin).host, ...headers } });
  }

  /** The assertion the gateway answers the proxy with, asked as the proxy asks. */
  async function realAssertion(cookie: string, path = '/docs'): Promise<string> {
    const answer = await request(world().gatewayPort, {
      path: '/.gatehouse/auth/request',
      headers: { host: 'gatehouse', cookie, 'x-original-url': `${world().origin}${path}`, 'x-original-method': 'GET' },
    });
    assert.equal(answer.status, 200);
    return String(answer.headers['x-gatehouse-assertion']);
  }

  test('a guest opens the app, signs in on its own host, and the app verifies who they are', { skip }, async () => {
    const { context, page } = await signInThroughProxy('bob@example.com', '/docs/intro?lang=en');
    assert.deepEqual(await appAnswer(page), { email: 'bob@example.com', groups: [], path: '/docs/intro?lang=en', method: 'GET' });

    await page.goto(`${world().origin}/docs/next`);
    assert.equal((await appAnswer(page)).email, 'bob@example.com', 'signed in: the next page passes at once');

    // A form post passes with its method and body untouched by the question.
    const posted = await page.evaluate(async () => {
      const response = await fetch('/docs/edit', { method: 'POST', body: 'text=hello', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      return (await response.json()) as { method: string; email: string };
    });
    assert.deepEqual([posted.method, posted.email], ['POST', 'bob@example.com']);
    await context.close();
  });

  test('signed out, the guest is sent to sign in again', { skip }, async () => {
    const { context, page } = await signInThroughProxy('sam@example.com', '/reports');
    await page.goto(`${world().origin}/.gatehouse/logout`);
    assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'You are signed out');
    await page.goto(`${world().origin}/reports`);
    assert.match(new URL(page.url()).pathname, /^\/\.gatehouse\/login/);
    assert.equal(new URL(page.url()).searchParams.get('rd'), `${world().origin}/reports`);
    await context.close();
  });

  test('someone signed in but not allowed on a path gets the 403 page from the gateway', { skip }, async () => {
    const { context, page } = await signInThroughProxy('eve@example.com', '/docs');
    const response = await page.goto(`${world().origin}/admin/users`);
    assert.equal(response?.status(), 403);
    assert.match(await page.locator('main').innerText(), /eve@example\.com/);
    await context.close();
  });

  test('an API call without a session gets 401 JSON, a page gets 302; public paths pass', { skip }, async () => {
    const api = await throughProxy('/api/items', { accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(api.json<{ error: string }>().error, 'unauthenticated');
    const pageLoad = await throughProxy('/docs', { accept: 'text/html' });
    assert.equal(pageLoad.status, 302);
    assert.equal(pageLoad.headers.location, `${world().origin}/.gatehouse/login?rd=${encodeURIComponent(`${world().origin}/docs`)}`);
    const open = await throughProxy('/public/readme');
    assert.equal(open.status, 401, 'the public path reached the app, which wants an assertion nobody was given');
    assert.equal(open.text(), 'no Gatehouse assertion\n');
  });

  test('spoofed X-Original-URL / X-Forwarded-Uri / -Method from a client cannot flip a decision', { skip }, async () => {
    const spoofs = {
      'x-original-url': `${world().origin}/public/readme`,
      'x-original-method': 'GET',
      'x-forwarded-uri': '/public/readme',
      'x-forwarded-host': 'elsewhere.localhost',
      'x-forwarded-method': 'GET',
      'x-forwarded-proto': 'https',
      accept: 'text/html',
    };
    const denied = await throughProxy('/docs/secret', spoofs);
    assert.equal(denied.status, 302, 'the protected path is still protected');
    assert.equal(denied.headers.location, `${world().origin}/.gatehouse/login?rd=${encodeURIComponent(`${world().origin}/docs/secret`)}`);

    const { context } = await signInThroughProxy('mallory@example.com', '/docs');
    const cookie = await cookieOf(context);
    await context.close();
    const forbidden = await throughProxy('/admin/users', { ...spoofs, 'x-original-url': `${world().origin}/docs`, 'x-forwarded-uri': '/docs', cookie });
    assert.equal(forbidden.status, 403, 'an allowed path named in a header does not open a forbidden one');
  });

  test('identity headers and an assertion sent by the client never reach the app', { skip }, async () => {
    const forged = await new SignJWT({ email: 'boss@example.com' })
      .setProtectedHeader({ alg: 'ES256' })
      .setAudience(world().origin)
      .setIssuer(world().origin)
      .setExpirationTime('5m')
      .sign(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    const spoofs = { 'x-auth-request-email': 'boss@example.com', 'x-forwarded-email': 'boss@example.com', 'x-gatehouse-assertion': forged };
    const anonymous = await throughProxy('/public/readme', spoofs);
    assert.equal(anonymous.text(), 'no Gatehouse assertion\n', 'on a public path the forged assertion was removed, not verified and refused');

    const { context } = await signInThroughProxy('dora@example.com', '/docs');
    const cookie = await cookieOf(context);
    await context.close();
    const signedIn = await throughProxy('/docs', { ...spoofs, cookie });
    assert.equal(signedIn.status, 200);
    assert.equal(signedIn.json<AppAnswer>().email, 'dora@example.com');
  });

  test('a client asking the forward-auth questions itself gets 404', { skip }, async () => {
    for (const path of ['/.gatehouse/auth/request', '/.gatehouse/auth/forward', '/.gatehouse/auth/ext/docs']) {
      const answer = await throughProxy(path, { 'x-original-url': `${world().origin}/docs`, 'x-forwarded-uri': '/docs' });
      assert.equal(answer.status, 404, path);
    }
    const jwks = await throughProxy('/.gatehouse/jwks.json');
    assert.equal(jwks.status, 200, 'the JWKS is reachable on the app host');
    assert.ok(jwks.json<{ keys: unknown[] }>().keys.length >= 1);
  });

  test('the app refuses an assertion signed by another key, for another app, or expired', { skip }, async () => {
    const { context } = await signInThroughProxy('vera@example.com', '/docs');
    const token = await realAssertion(await cookieOf(context));
    await context.close();
    const toApp = (assertion: string, port = world().app.port) => request(port, { path: '/docs', headers: { 'x-gatehouse-assertion': assertion } });

    const genuine = await toApp(token);
    assert.equal(genuine.status, 200, genuine.text());
    assert.equal(genuine.json<AppAnswer>().email, 'vera@example.com');

    const { kid } = decodeProtectedHeader(token);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const mint = (key: KeyObject, claims: { aud?: string; exp?: number }) =>
      new SignJWT({ email: 'vera@example.com', sub: 'vera@example.com' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(world().origin)
        .setAudience(claims.aud ?? world().origin)
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
        .sign(key);
    const anotherKey = await toApp(await mint(otherKey, {}));
    assert.equal(anotherKey.status, 401);
    assert.match(anotherKey.text(), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);

    const otherApp = await startVerifyingApp(`http://127.0.0.1:${world().gatewayPort}/.gatehouse/jwks.json`, 'http://files.localhost');
    try {
      const elsewhere = await toApp(token, otherApp.port);
      assert.equal(elsewhere.status, 401, 'a token for the wiki does not open another app');
      assert.match(elsewhere.text(), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    } finally {
      await otherApp.stop();
    }

    if (world().signingKeyPem) {
      // With the gateway's own key (assertion.key_file): the same claims pass until they expire.
      const gatewayKey = createPrivateKey(world().signingKeyPem!);
      assert.equal((await toApp(await mint(gatewayKey, {}))).status, 200, 'minted with the gateway key, in date: accepted');
      const expired = await toApp(await mint(gatewayKey, { exp: Math.floor(Date.now() / 1000) - 5 }));
      assert.equal(expired.status, 401);
      assert.match(expired.text(), /ERR_JWT_EXPIRED/);
      assert.equal((await toApp(await mint(gatewayKey, { aud: 'http://files.localhost' }))).status, 401, 'for another audience: refused');
    }
  });
}
