/**
 * Every sign-in limit and expiry, with the gateway's clock moved by the test instead of
 * sleeping: resend cooldown, codes per address, requests per client address, failures per
 * address (not reset by a new code), code ttl, session lifetime, idle timeout, per-route
 * sign-in age, secret rotation and the cookie flags.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestBrowser, hiddenField } from '../helpers/browser.js';
import { SECRET, codeFromMail, signIn, startSignInWorld, waitForMails, type SignInWorld } from '../helpers/sign-in-world.js';
import { parseConfigText } from '../../src/config/load-config.js';

const MINUTE = 60_000;

async function askForCode(world: SignInWorld, browser: TestBrowser, email: string) {
  const page = await browser.get('/.gatehouse/login');
  return browser.postForm('/.gatehouse/login', { email, csrf: hiddenField(page.text(), 'csrf'), rd: '/' });
}

async function submitCode(browser: TestBrowser, code: string) {
  const page = await browser.get('/.gatehouse/login');
  return browser.postForm('/.gatehouse/verify', { code, csrf: hiddenField(page.text(), 'csrf'), rd: '/' });
}

describe('sending limits', () => {
  test('a second request within resend_after sends no second mail and says when to ask again', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await askForCode(world, browser, 'bob@example.com')).status, 200);
    await waitForMails(world.smtp, 1);
    const again = await askForCode(world, browser, 'bob@example.com');
    assert.equal(again.status, 200);
    assert.match(again.text(), /new one in \d+ seconds/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(world.smtp.received.length, 1);
    world.advance(31_000);
    assert.equal((await askForCode(world, browser, 'bob@example.com')).status, 200);
    await waitForMails(world.smtp, 2);
  });

  test('max_per_email: the next request is 429 with Retry-After, for allowed and not-allowed addresses alike', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_email: 3/1h\n  resend_after: 10s');
    t.after(() => world.close());
    for (const email of ['bob@example.com', 'nobody@elsewhere.test']) {
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await askForCode(world, world.browser(), email)).status, 200, `${email} #${i + 1}`);
        world.advance(11_000);
      }
      const limited = await askForCode(world, world.browser(), email);
      assert.equal(limited.status, 429, email);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    }
    await waitForMails(world.smtp, 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(world.smtp.received.length, 3, 'only the allowed address got mail');
    world.advance(61 * MINUTE);
    assert.equal((await askForCode(world, world.browser(), 'bob@example.com')).status, 200, 'the window ends');
  });

  test('max_per_ip: one client address cannot ask for codes for many addresses', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_ip: 4/1h');
    t.after(() => world.close());
    for (let i = 0; i < 4; i += 1) assert.equal((await askForCode(world, world.browser(), `user${i}@example.com`)).status, 200);
    const limited = await askForCode(world, world.browser(), 'user9@example.com');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });
});

describe('guessing limits', () => {
  test('max_failures_per_email locks the address across codes; a new code does not reset it', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_failures_per_email: 4/1h\n  max_attempts: 3\n  resend_after: 1s');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await askForCode(world, browser, 'bob@example.com')).status, 200);
    await waitForMails(world.smtp, 1);
    const wrong = (code: string) => (code === '000000' ? '111111' : '000000');
    const firstCode = codeFromMail(world.smtp.received[0]!.raw);
    assert.equal((await submitCode(browser, wrong(firstCode))).status, 401);
    assert.equal((await submitCode(browser, wrong(firstCode))).status, 401);
    world.advance(2000);
    assert.equal((await askForCode(world, browser, 'bob@example.com')).status, 200, 'a new code');
    await waitForMails(world.smtp, 2);
    const secondCode = codeFromMail(world.smtp.received[1]!.raw);
    assert.equal((await submitCode(browser, wrong(secondCode))).status, 401);
    assert.equal((await submitCode(browser, wrong(secondCode))).status, 401, 'fourth failure: locked');
    assert.ok(world.logs.records().some((line) => line.event === 'otp.locked'));
    world.advance(2000);
    const locked = await askForCode(world, browser, 'bob@example.com');
    assert.equal(locked.status, 429, 'a locked address gets no new code');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    world.advance(61 * MINUTE);
    assert.equal((await askForCode(world, browser, 'bob@example.com')).status, 200, 'the lock ends with its window');
  });

  test('max_attempts kills a code: after that even the right code fails', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_attempts: 2');
    t.after(() => world.close());
    const browser = world.browser();
    await askForCode(world, browser, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    const code = codeFromMail(world.smtp.received[0]!.raw);
    const wrong = code === '000000' ? '111111' : '000000';
    assert.equal((await submitCode(browser, wrong)).status, 401);
    assert.equal((await submitCode(browser, wrong)).status, 401);
    assert.notEqual((await submitCode(browser, code)).status, 303);
  });

  test('a malformed code is not counted as a guess', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_attempts: 1');
    t.after(() => world.close());
    const browser = world.browser();
    await askForCode(world, browser, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    assert.equal((await submitCode(browser, 'abc')).status, 400);
    assert.equal((await submitCode(browser, '12')).status, 400);
    const code = codeFromMail(world.smtp.received[0]!.raw);
    assert.equal((await submitCode(browser, `${code.slice(0, 3)} ${code.slice(3)}`)).status, 303, 'spaces are ignored');
  });
});

describe('expiry', () => {
  test('a code dies after otp.ttl', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    await askForCode(world, browser, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    world.advance(11 * MINUTE);
    const late = await submitCode(browser, codeFromMail(world.smtp.received[0]!.raw));
    assert.equal(late.status, 400);
    assert.match(late.text(), /expired/);
  });

  test('a session ends at lifetime after sign-in however active it is', async (t) => {
    const world = await startSignInWorld('memory', '', undefined);
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    for (let hour = 0; hour < 23; hour += 1) {
      world.advance(60 * MINUTE);
      assert.equal((await browser.get('/x')).status, 200, `hour ${hour + 1}`);
    }
    world.advance(61 * MINUTE);
    const expired = await browser.get('/x');
    assert.equal(expired.status, 302, 'after 24 h the guest proves the inbox again');
  });

  test('idle_timeout ends a session left alone, and activity keeps it alive', async (t) => {
    const world = await startSignInWorld('memory', '', undefined, undefined, '  idle_timeout: 30m');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    for (let i = 0; i < 6; i += 1) {
      world.advance(20 * MINUTE);
      assert.equal((await browser.get('/x')).status, 200, `active after ${(i + 1) * 20} minutes`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // the activity write is not awaited by the request
    world.advance(31 * MINUTE);
    assert.equal((await browser.get('/x')).status, 302, 'idle for 31 minutes');
  });

  test('max_session_age on a route asks for a fresher sign-in there only', async (t) => {
    const world = await startSignInWorld(
      'memory',
      '',
      `  - name: app
    from: http://app.test/
    to: http://127.0.0.1:9
    allow: ["*@example.com"]
    public: ["/open/**"]
  - name: payroll
    from: http://app.test/payroll
    to: http://127.0.0.1:9
    allow: ["*@example.com"]
    max_session_age: 1h`,
    );
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    world.advance(61 * MINUTE);
    assert.equal((await browser.get('/payroll/report')).status, 302, 'the sign-in is too old for payroll');
    assert.equal((await browser.get('/other')).status, 502, 'other routes still accept it (their upstream is down: 502, not 302)');
  });
});

describe('secrets and cookies', () => {
  test('rotating the secret keeps existing sessions valid', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const browser = world.browser();
    assert.equal((await signIn(world, browser, 'bob@example.com')).status, 303);
    const current = world.gw.gateway.config();
    const rotated = parseConfigText(
      `session:\n  secret: ["a-brand-new-secret-of-at-least-32-chars", "${SECRET}"]\nroutes:\n  - name: app\n    from: http://app.test/\n    to: ${world.upstream.origin}\n    allow: ["*@example.com"]\n`,
      'rotated.yaml',
      {},
    ).config;
    world.gw.gateway.reload({ ...rotated, listen: current.listen, admin: current.admin, mail: current.mail });
    assert.equal((await browser.get('/x')).status, 200, 'the old cookie verifies under the second secret');
    const fresh = world.browser();
    assert.equal((await signIn(world, fresh, 'carol@example.com')).status, 303, 'new sign-ins work with the new first secret');
  });

  test('with secure: true behind a trusted TLS proxy the cookie is __Host-gatehouse, Secure and HttpOnly', async (t) => {
    const routes = `  - name: app
    from: https://app.test/
    to: http://127.0.0.1:9
    allow: ["*@example.com"]`;
    const world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]', routes, undefined, '  cookie: { secure: true }');
    t.after(() => world.close());
    const browser = new TestBrowser(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-proto': 'https', origin: 'https://app.test' });
    const page = await browser.get('/.gatehouse/login');
    assert.equal(page.status, 200);
    assert.ok(browser.cookies.has('__Host-gatehouse_csrf'));
    const codePage = await browser.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: hiddenField(page.text(), 'csrf'), rd: '/' }, { origin: 'https://app.test' });
    assert.equal(codePage.status, 200);
    await waitForMails(world.smtp, 1);
    const verified = await browser.postForm(
      '/.gatehouse/verify',
      { code: codeFromMail(world.smtp.received[0]!.raw), csrf: hiddenField(codePage.text(), 'csrf'), rd: '/' },
      { origin: 'https://app.test' },
    );
    assert.equal(verified.status, 303);
    const cookie = (verified.headers['set-cookie'] ?? []).find((line) => line.startsWith('__Host-gatehouse='));
    assert.ok(cookie, 'the session cookie has the __Host- prefix');
    assert.match(cookie, /; Secure/i);
    assert.match(cookie, /; HttpOnly/i);
    assert.match(cookie, /; Path=\//i);
    assert.doesNotMatch(cookie, /Domain=/i);
    const plain = await new TestBrowser(world.gw.port, 'app.test').get('/.gatehouse/login');
    assert.equal(plain.status, 404, 'without the proxy saying https, port 80 is not this https route');
  });
});
