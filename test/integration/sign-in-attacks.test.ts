/**
 * Attacks on sign-in, one test per class (issue: email one-time-code sign-in): login CSRF and
 * cross-site POSTs, open redirects through `rd`, session fixation, forged and tampered
 * cookies, replayed codes, parallel correct and wrong guesses, header injection through the
 * address, spoofed identity headers next to a real session, and enumeration.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { TestBrowser, hiddenField } from '../helpers/browser.js';
import { redisSkipReason } from '../helpers/redis.js';
import { SECRET, codeFromMail, signIn, startSignInWorld, waitForMails, type SignInWorld } from '../helpers/sign-in-world.js';
import { signSessionId } from '../../src/session/signed-cookie-value.js';

async function requestCode(browser: TestBrowser, email: string, rd = '/'): Promise<{ codePage: Awaited<ReturnType<TestBrowser['get']>> }> {
  const loginPage = await browser.get(`/.gatehouse/login?rd=${encodeURIComponent(rd)}`);
  const codePage = await browser.postForm('/.gatehouse/login', { email, csrf: hiddenField(loginPage.text(), 'csrf'), rd: hiddenField(loginPage.text(), 'rd') });
  return { codePage };
}

describe('login CSRF and cross-site POSTs', () => {
  test('a POST without the CSRF token, with another browser\'s token, from a foreign Origin or marked cross-site is refused with 403 and sends no mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const victim = world.browser();
    const attacker = world.browser();
    const attackerPage = await attacker.get('/.gatehouse/login');
    const attackerToken = hiddenField(attackerPage.text(), 'csrf');
    const victimPage = await victim.get('/.gatehouse/login');
    const victimToken = hiddenField(victimPage.text(), 'csrf');

    const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
      ['no token', { email: 'bob@example.com' }, {}],
      ["another browser's token", { email: 'bob@example.com', csrf: attackerToken }, {}],
      ['foreign Origin', { email: 'bob@example.com', csrf: victimToken }, { origin: 'http://evil.test' }],
      ['Origin null', { email: 'bob@example.com', csrf: victimToken }, { origin: 'null' }],
      ['Sec-Fetch-Site cross-site', { email: 'bob@example.com', csrf: victimToken }, { 'sec-fetch-site': 'cross-site' }],
    ];
    for (const [name, fields, headers] of attempts) {
      const response = await victim.postForm('/.gatehouse/login', fields, headers);
      assert.equal(response.status, 403, name);
      const verify = await victim.postForm('/.gatehouse/verify', { ...fields, code: '123456' }, headers);
      assert.equal(verify.status, 403, `${name} (verify)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(world.smtp.received.length, 0);
    const ok = await victim.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: victimToken });
    assert.equal(ok.status, 200, 'the real form still works');
  });
});

describe('open redirects through rd', () => {
  const hostile = [
    'https://evil.test/',
    '//evil.test/x',
    '/\\evil.test',
    '\\\\evil.test',
    'http:evil.test',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'http://app.test@evil.test/',
    'http://evil.test\\@app.test/',
    '/\t/evil.test',
    'http://app.test.evil.test/',
    'https://app.test/',
    ' http://evil.test',
    'http://evil.test%2F@app.test/',
  ];

  test('after sign-in a hostile rd sends the guest to / and an rd on a configured origin is kept', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  resend_after: 1s\n  max_per_email: 100/1h\n  max_per_ip: 100/1h');
    t.after(() => world.close());
    let mails = 0;
    for (const rd of hostile) {
      const browser = world.browser();
      const loginPage = await browser.get(`/.gatehouse/login?rd=${encodeURIComponent(rd)}`);
      assert.equal(hiddenField(loginPage.text(), 'rd'), '/', `login form keeps no hostile rd: ${JSON.stringify(rd)}`);
      // Submitting the hostile value directly must not help either.
      const codePage = await browser.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: hiddenField(loginPage.text(), 'csrf'), rd });
      assert.equal(hiddenField(codePage.text(), 'rd'), '/', `code form keeps no hostile rd: ${JSON.stringify(rd)}`);
      mails += 1;
      await waitForMails(world.smtp, mails);
      world.advance(2000);
    }
    const browser = world.browser();
    const verified = await signIn(world, browser, 'bob@example.com', 'http://other.test/deep/link?x=1');
    assert.equal(verified.headers.location, 'http://other.test/deep/link?x=1');
  });
});

describe('session fixation and forged cookies', () => {
  test('signing in issues a new session id, never the one the browser brought', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const attacker = world.browser();
    assert.equal((await signIn(world, attacker, 'alice@partner.test')).status, 303);
    const planted = attacker.cookies.get('gatehouse')!;

    world.advance(60_000);
    const victim = world.browser();
    victim.cookies.set('gatehouse', planted);
    assert.equal((await signIn(world, victim, 'bob@example.com')).status, 303);
    assert.notEqual(victim.cookies.get('gatehouse'), planted, 'the victim got a fresh id');
    await victim.get('/whoami');
    assert.equal(world.upstream.requests.at(-1)!.headers['x-auth-request-email'], 'bob@example.com');
    const requestsBefore = world.upstream.requests.length;
    const attackerAfter = await attacker.get('/whoami');
    assert.equal(attackerAfter.status, 302, "the planted id was retired at sign-in: it never carries the victim's identity");
    assert.equal(world.upstream.requests.length, requestsBefore);
  });

  test('forged, tampered and wrongly signed cookies are treated as no session', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    const real = decodeURIComponent(browser.cookies.get('gatehouse')!);
    const id = real.slice(2, real.lastIndexOf('.'));
    const forged = [
      'plainvalue',
      's:someid.c2lnbmF0dXJl',
      `s:${id}.${'A'.repeat(43)}`,
      encodeURIComponent(signSessionId(id, 'another-secret-that-is-32-characters-long')),
      encodeURIComponent(signSessionId(`${id}x`, SECRET)),
      `${encodeURIComponent(real)}x`,
    ];
    for (const value of forged) {
      const response = await browser.get('/private', { cookie: `gatehouse=${value}` });
      assert.equal(response.status, 302, value);
    }
    assert.equal(world.upstream.requests.length, 0);
  });
});

for (const store of ['memory', 'redis'] as const) {
  describe(`codes (${store} store)`, () => {
    let skip: string | undefined;
    before(async () => {
      skip = store === 'redis' ? await redisSkipReason() : undefined;
    });

    test('a used code cannot be replayed, even with the flow cookie put back', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const browser = world.browser();
      const { codePage } = await requestCode(browser, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const flow = browser.cookies.get('gatehouse_flow')!;
      const fields = { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: '/' };
      assert.equal((await browser.postForm('/.gatehouse/verify', fields)).status, 303);
      browser.cookies.set('gatehouse_flow', flow);
      const replay = await world.browser().postForm('/.gatehouse/verify', fields, { cookie: `gatehouse_flow=${flow}; gatehouse_csrf=${browser.cookies.get('gatehouse_csrf')}` });
      assert.notEqual(replay.status, 303);
      assert.equal(replay.headers['set-cookie']?.some((line) => line.startsWith('gatehouse=')) ?? false, false);
    });

    test('a code only works in the browser that asked for it', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const asker = world.browser();
      await requestCode(asker, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const thief = world.browser();
      const page = await thief.get('/.gatehouse/login');
      const stolen = await thief.postForm('/.gatehouse/verify', { code, csrf: hiddenField(page.text(), 'csrf'), rd: '/' });
      assert.equal(stolen.status, 400);
      assert.equal(thief.cookies.has('gatehouse'), false);
    });

    test('of ten parallel submissions of the right code exactly one signs in', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const browser = world.browser();
      const { codePage } = await requestCode(browser, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const fields = { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: '/' };
      const cookie = browser.cookieHeader()!;
      const results = await Promise.all(Array.from({ length: 10 }, () => browser.postForm('/.gatehouse/verify', fields, { cookie })));
      assert.equal(results.filter((response) => response.status === 303).length, 1);
      assert.equal(world.logs.records().filter((line) => line.event === 'session.started').length, 1);
    });

    test('parallel wrong guesses are all counted: no more than max_attempts are judged, then the code is dead', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const browser = world.browser();
      const { codePage } = await requestCode(browser, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const wrong = code === '000000' ? '111111' : '000000';
      const csrf = hiddenField(codePage.text(), 'csrf');
      const cookie = browser.cookieHeader()!;
      const results = await Promise.all(Array.from({ length: 30 }, () => browser.postForm('/.gatehouse/verify', { code: wrong, csrf, rd: '/' }, { cookie })));
      const judged = results.filter((response) => response.status === 401).length;
      assert.ok(judged <= 5, `${judged} guesses were judged`);
      assert.equal(results.filter((response) => response.status === 303).length, 0);
      const late = await browser.postForm('/.gatehouse/verify', { code, csrf, rd: '/' }, { cookie });
      assert.notEqual(late.status, 303, 'after max_attempts even the right code is refused');
    });
  });
}

describe('addresses', () => {
  test('header injection, lists, quotes and repeated fields get a 400 page that explains, and no mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    const page = await browser.get('/.gatehouse/login');
    const csrf = hiddenField(page.text(), 'csrf');
    const bad: Array<string | string[]> = [
      'bob@example.com\r\nBcc: evil@x.test',
      'bob@example.com\nBcc: evil@x.test',
      'bob@example.com, evil@x.test',
      '"bob"@example.com',
      'bob(comment)@example.com',
      'bob@',
      'bob@@example.com',
      `${'a'.repeat(250)}@example.com`,
      ['bob@example.com', 'evil@x.test'],
    ];
    for (const email of bad) {
      const response = await browser.postForm('/.gatehouse/login', { email, csrf });
      assert.equal(response.status, 400, JSON.stringify(email));
      assert.match(response.text(), /role="alert"/);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(world.smtp.received.length, 0);
  });
});

describe('identity headers next to a real session', () => {
  test('client-sent identity headers in every spelling are replaced by the signed-in address', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    await browser.get('/x', {
      'X-Auth-Request-Email': 'admin@example.com',
      x_auth_request_email: 'admin@example.com',
      'X.Auth.Request.User': 'admin@example.com',
      'x-forwarded-user': 'admin@example.com',
      X_Forwarded_Email: 'admin@example.com',
      'X-Auth-Request-Groups': 'admins',
    });
    const seen = world.upstream.requests.at(-1)!;
    const identityValues = seen.rawHeaders.filter((_value, index) => index % 2 === 1);
    assert.ok(!identityValues.includes('admin@example.com'), 'no spoofed value arrives');
    assert.ok(!identityValues.includes('admins'));
    assert.equal(seen.headers['x-auth-request-email'], 'bob@example.com');
  });
});

describe('no enumeration', () => {
  function comparable(world: SignInWorld, html: string, email: string): string {
    return html.replaceAll(email, 'EMAIL').replace(/name="csrf" value="[^"]*"/, '');
  }

  test('an allowed and a not-allowed address get the same status, page and headers; only the allowed one gets mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const allowed = await requestCode(world.browser(), 'bob@example.com');
    const notAllowed = await requestCode(world.browser(), 'mallory@elsewhere.test');
    assert.equal(allowed.codePage.status, notAllowed.codePage.status);
    assert.equal(comparable(world, allowed.codePage.text(), 'bob@example.com'), comparable(world, notAllowed.codePage.text(), 'mallory@elsewhere.test'));
    const headerNames = (response: typeof allowed.codePage) => Object.keys(response.headers).filter((name) => name !== 'date').sort();
    assert.deepEqual(headerNames(allowed.codePage), headerNames(notAllowed.codePage));
    await waitForMails(world.smtp, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(world.smtp.received.length, 1);
    assert.deepEqual(world.smtp.received[0]!.rcptTo, ['bob@example.com']);
    assert.ok(world.logs.records().some((line) => line.event === 'otp.not_allowed' && line.email === 'mallory@elsewhere.test'));
  });

  test('the answer is complete before the mail server is even contacted', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const { codePage } = await requestCode(world.browser(), 'bob@example.com');
    const answeredAt = Date.now();
    assert.equal(codePage.status, 200);
    assert.equal(world.smtp.dataAttempts(), 0, 'no mail had been sent when the page arrived');
    await waitForMails(world.smtp, 1);
    assert.ok(Date.now() >= answeredAt);
  });
});
