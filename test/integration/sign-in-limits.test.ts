/**
 * Every sign-in limit and expiry, with the gateway's clock moved by the test instead of
 * sleeping: resend cooldown, codes per address, requests per client address, failures per
 * address (not reset by a new code), code ttl, session lifetime, idle timeout, per-route
 * sign-in age, secret rotation and the cookie flags.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient, hiddenField } from '../helpers/form-client.js';
import { SECRET, codeFromMail, signIn, startSignInWorld, submitEmail, waitForMails, type SignInWorld } from '../helpers/sign-in-world.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { wrongCode } from '../helpers/codes.js';

const MINUTE = 60_000;

/** The email form's POST; a code page follows its 303 (undefined when there was none, e.g. 429). */
async function askForCode(_world: SignInWorld, client: FormClient, email: string) {
  const { post, codePage } = await submitEmail(client, email);
  return Object.assign(post, { codePage });
}

/** Types `code` on the code page; the answer is a 303, to `/` when it signed in, else back to the code page (`page`). */
async function submitCode(client: FormClient, code: string) {
  const form = await client.get('/.gatehouse/login?rd=%2F');
  const post = await client.postForm('/.gatehouse/verify', { code, csrf: hiddenField(form.text(), 'csrf'), rd: '/' });
  const signedIn = post.status === 303 && post.headers.location === '/';
  return { post, signedIn, page: signedIn ? undefined : await client.get(String(post.headers.location)) };
}

function outcomes(world: SignInWorld): unknown[] {
  return world.logs.records().filter((line) => line.event === 'otp.requested').map((line) => line.outcome);
}

describe('sending limits', () => {
  test('a second request within resend_after sends no second mail and says when to ask again', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await askForCode(world, client, 'bob@example.com')).status, 303);
    await waitForMails(world.smtp, 1);
    const again = await askForCode(world, client, 'bob@example.com');
    assert.equal(again.headers.location, '/.gatehouse/code?rd=%2F&notice=too_soon');
    assert.match(again.codePage!.text(), /A code was sent moments ago/);
    assert.match(again.codePage!.text(), /ask for a new code in (29|30) seconds/);
    assert.deepEqual(outcomes(world), ['issued', 'cooldown'], 'the second request made no code, so no mail');
    world.advance(31_000);
    assert.equal((await askForCode(world, client, 'bob@example.com')).status, 303);
    await waitForMails(world.smtp, 2);
    assert.deepEqual(outcomes(world), ['issued', 'cooldown', 'issued']);
  });

  test('max_per_email: the next request is 429 with Retry-After, for allowed and not-allowed addresses alike', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_email: 3/1h\n  resend_after: 10s');
    t.after(() => world.close());
    for (const email of ['bob@example.com', 'nobody@elsewhere.test']) {
      for (let i = 0; i < 3; i += 1) {
        assert.equal((await askForCode(world, world.client(), email)).status, 303, `${email} #${i + 1}`);
        world.advance(11_000);
      }
      const limited = await askForCode(world, world.client(), email);
      assert.equal(limited.status, 429, email);
      const retryAfter = Number(limited.headers['retry-after']);
      assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    }
    await waitForMails(world.smtp, 3);
    assert.ok(world.smtp.received.every((mail) => mail.rcptTo.join() === 'bob@example.com'), 'only the allowed address got mail');
    assert.equal(world.logs.records().filter((line) => line.event === 'otp.not_allowed').length, 3);
    world.advance(61 * MINUTE);
    assert.equal((await askForCode(world, world.client(), 'bob@example.com')).status, 303, 'the window ends');
  });

  test('max_per_ip: one client address cannot ask for codes for many addresses', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_ip: 4/1h');
    t.after(() => world.close());
    for (let i = 0; i < 4; i += 1) assert.equal((await askForCode(world, world.client(), `user${i}@example.com`)).status, 303);
    const limited = await askForCode(world, world.client(), 'user9@example.com');
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
  });

  test('a client over its limit that asks again and again is answered only after a pause, so a flood cannot keep the gateway busy', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_ip: 1/1h');
    t.after(() => world.close());
    assert.equal((await askForCode(world, world.client(), 'user0@example.com')).status, 303);
    // The attacker asks 5 times in parallel on one client address, each as soon as it can.
    const started = performance.now();
    const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => submitEmail(world.client(), `user${i + 1}@example.com`)));
    const waited = performance.now() - started;
    assert.deepEqual(refused.map(({ post }) => post.status), [429, 429, 429, 429, 429]);
    // A lower bound only: the refusals are held for a second (REFUSAL_PAUSE_MS), not answered at once.
    assert.ok(waited >= 990, `refused in ${Math.round(waited)} ms`);
    assert.ok(refused.every(({ post }) => Number(post.headers['retry-after']) > 0));
  });
});

describe('behind a trusted proxy', () => {
  test("the limits and logs count the client X-Forwarded-For names, not the proxy's own address", async (t) => {
    const world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]\notp:\n  max_per_ip: 3/1h');
    t.after(() => world.close());
    const through = (client: string) => new FormClient(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-for': `6.6.6.6, ${client}` });
    for (let i = 0; i < 3; i += 1) assert.equal((await askForCode(world, through('198.51.100.1'), `user${i}@example.com`)).status, 303);
    assert.equal((await askForCode(world, through('198.51.100.1'), 'user9@example.com')).status, 429, 'this client is over its limit');
    assert.equal((await askForCode(world, through('198.51.100.2'), 'other@example.com')).status, 303, 'another client behind the same proxy is not');
    const logged = world.logs.records().filter((line) => line.event === 'otp.requested').map((line) => line.client);
    assert.deepEqual(logged, ['198.51.100.1', '198.51.100.1', '198.51.100.1', '198.51.100.1', '198.51.100.2']);
  });

  test('an untrusted peer cannot pick its client address by sending X-Forwarded-For', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_per_ip: 2/1h');
    t.after(() => world.close());
    for (let i = 0; i < 2; i += 1) {
      const spoofing = new FormClient(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-for': `198.51.100.${i}` });
      assert.equal((await askForCode(world, spoofing, `user${i}@example.com`)).status, 303);
    }
    const spoofing = new FormClient(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-for': '198.51.100.77' });
    assert.equal((await askForCode(world, spoofing, 'user7@example.com')).status, 429);
    assert.ok(world.logs.records().filter((line) => line.event === 'otp.requested').every((line) => line.client === '127.0.0.1'));
  });
});

describe('guessing limits', () => {
  test('max_failures_per_email locks the address across codes; a new code does not reset it', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_failures_per_email: 4/1h\n  max_attempts: 3\n  resend_after: 1s');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await askForCode(world, client, 'bob@example.com')).status, 303);
    await waitForMails(world.smtp, 1);
    const wrong = wrongCode;
    const firstCode = codeFromMail(world.smtp.received[0]!.raw);
    assert.match((await submitCode(client, wrong(firstCode))).page!.text(), /not right\. You have 2 more tries/);
    assert.match((await submitCode(client, wrong(firstCode))).page!.text(), /not right\. You have 1 more try\./);
    world.advance(2000);
    assert.equal((await askForCode(world, client, 'bob@example.com')).status, 303, 'a new code');
    await waitForMails(world.smtp, 2);
    const secondCode = codeFromMail(world.smtp.received[1]!.raw);
    assert.equal((await submitCode(client, wrong(secondCode))).signedIn, false);
    const fourth = await submitCode(client, wrong(secondCode));
    assert.equal(fourth.page!.status, 429, 'fourth failure: locked');
    assert.match(fourth.page!.text(), /Sign-in is paused for this address/);
    assert.ok(world.logs.records().some((line) => line.event === 'otp.locked'));
    assert.equal((await submitCode(client, secondCode)).signedIn, false, 'not even the right code works while locked');
    world.advance(2000);
    const locked = await askForCode(world, client, 'bob@example.com');
    assert.equal(locked.status, 429, 'a locked address gets no new code');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    world.advance(61 * MINUTE);
    assert.equal((await askForCode(world, client, 'bob@example.com')).status, 303, 'the lock ends with its window');
  });

  test('max_attempts kills a code: after that even the right code fails', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_attempts: 2');
    t.after(() => world.close());
    const client = world.client();
    await askForCode(world, client, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    const code = codeFromMail(world.smtp.received[0]!.raw);
    const wrong = wrongCode(code);
    assert.match((await submitCode(client, wrong)).page!.text(), /You have 1 more try/);
    assert.match((await submitCode(client, wrong)).page!.text(), /Too many wrong tries for this code/);
    const right = await submitCode(client, code);
    assert.equal(right.signedIn, false);
    assert.match(right.page!.text(), /Too many wrong tries for this code/);
  });

  test('a malformed code is not counted as a guess', async (t) => {
    const world = await startSignInWorld('memory', 'otp:\n  max_attempts: 1');
    t.after(() => world.close());
    const client = world.client();
    await askForCode(world, client, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    for (const typed of ['abc', '12']) {
      const malformed = await submitCode(client, typed);
      assert.equal(malformed.post.headers.location, '/.gatehouse/code?rd=%2F&error=format');
      assert.match(malformed.page!.text(), /Enter the 8-digit code from the email/);
    }
    const code = codeFromMail(world.smtp.received[0]!.raw);
    assert.equal((await submitCode(client, `${code.slice(0, 3)} ${code.slice(3)}`)).signedIn, true, 'spaces are ignored');
  });
});

describe('expiry', () => {
  test('a code dies after otp.ttl', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    await askForCode(world, client, 'bob@example.com');
    await waitForMails(world.smtp, 1);
    world.advance(11 * MINUTE);
    const late = await submitCode(client, codeFromMail(world.smtp.received[0]!.raw));
    assert.equal(late.signedIn, false);
    assert.match(late.page!.text(), /This code has expired/);
    assert.match(late.page!.text(), /Send a new code/);
  });

  test('a session ends at lifetime after sign-in however active it is', async (t) => {
    const world = await startSignInWorld('memory', '', undefined);
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    for (let hour = 0; hour < 23; hour += 1) {
      world.advance(60 * MINUTE);
      assert.equal((await client.get('/x')).status, 200, `hour ${hour + 1}`);
    }
    world.advance(61 * MINUTE);
    const expired = await client.get('/x');
    assert.equal(expired.status, 302, 'after 24 h the guest proves the inbox again');
  });

  test('idle_timeout ends a session left alone, and activity keeps it alive', async (t) => {
    const world = await startSignInWorld('memory', '', undefined, undefined, '  idle_timeout: 30m');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    for (let i = 0; i < 6; i += 1) {
      world.advance(20 * MINUTE);
      assert.equal((await client.get('/x')).status, 200, `active after ${(i + 1) * 20} minutes`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // the activity write is not awaited by the request
    world.advance(31 * MINUTE);
    assert.equal((await client.get('/x')).status, 302, 'idle for 31 minutes');
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
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    world.advance(61 * MINUTE);
    assert.equal((await client.get('/payroll/report')).status, 302, 'the sign-in is too old for payroll');
    assert.equal((await client.get('/other')).status, 502, 'other routes still accept it (their upstream is down: 502, not 302)');
  });
});

describe('secrets and cookies', () => {
  test('rotating the secret keeps existing sessions valid', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    const current = world.gw.gateway.config();
    const rotated = parseConfigText(
      `session:\n  secret: ["a-brand-new-secret-of-at-least-32-chars", "${SECRET}"]\nroutes:\n  - name: app\n    from: http://app.test/\n    to: ${world.upstream.origin}\n    allow: ["*@example.com"]\n`,
      'rotated.yaml',
      {},
    ).config;
    world.gw.gateway.reload({ ...rotated, listen: current.listen, admin: current.admin, mail: current.mail });
    assert.equal((await client.get('/x')).status, 200, 'the old cookie verifies under the second secret');
    const fresh = world.client();
    assert.equal((await signIn(world, fresh, 'carol@example.com')).status, 303, 'new sign-ins work with the new first secret');
  });

  test('with secure: true behind a trusted TLS proxy the cookie is __Host-gatehouse, Secure and HttpOnly', async (t) => {
    const routes = `  - name: app
    from: https://app.test/
    to: http://127.0.0.1:9
    allow: ["*@example.com"]`;
    const world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]', routes, undefined, '  cookie: { secure: true }');
    t.after(() => world.close());
    const client = new FormClient(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-proto': 'https', origin: 'https://app.test' });
    const page = await client.get('/.gatehouse/login');
    assert.equal(page.status, 200);
    assert.ok(client.cookies.has('__Host-gatehouse_csrf'));
    const { codePage } = await submitEmail(client, 'bob@example.com', { form: page, headers: { origin: 'https://app.test' } });
    assert.ok(codePage);
    assert.ok(client.cookies.has('__Host-gatehouse_flow'));
    await waitForMails(world.smtp, 1);
    const verified = await client.postForm(
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
    const plain = await new FormClient(world.gw.port, 'app.test').get('/.gatehouse/login');
    assert.equal(plain.status, 404, 'without the proxy saying https, port 80 is not this https route');
  });
});
