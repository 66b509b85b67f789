/**
 * Attacks on sign-in, one test per class (issue: email one-time-code sign-in): login CSRF and
 * cross-site POSTs, open redirects through `rd`, session fixation, forged and tampered
 * cookies, replayed codes, parallel correct and wrong guesses, header injection through the
 * address, spoofed identity headers next to a real session, and enumeration.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient, hiddenField } from '../helpers/form-client.js';
import { redisSkipReason } from '../helpers/redis.js';
import { SECRET, codeFromMail, signIn, startSignInWorld, submitEmail, waitForMails, type SignInWorld } from '../helpers/sign-in-world.js';
import { signSessionId } from '../../src/session/signed-cookie-value.js';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type { Notifier } from '../../src/mail/notifier.js';
import { startGateway, startUpstream } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import { wrongCode } from '../helpers/codes.js';

type Response = Awaited<ReturnType<FormClient['get']>>;

async function requestCode(client: FormClient, email: string, rd = '/'): Promise<{ post: Response; codePage: Response }> {
  const { post, codePage } = await submitEmail(client, email, { rd });
  assert.ok(codePage, `the email form answered ${post.status}`);
  return { post, codePage };
}

/** A code POST that signed the browser in: 303 with a new session cookie (every other answer is a 303 to the code page). */
function startedSession(response: Response): boolean {
  return response.status === 303 && (response.headers['set-cookie'] ?? []).some((line) => line.startsWith('gatehouse='));
}

describe('login CSRF and cross-site POSTs', () => {
  test('a POST without the CSRF token, with another browser\'s token, from a foreign Origin or marked cross-site is refused with 403 and sends no mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const victim = world.client();
    const attacker = world.client();
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
      const logout = await victim.postForm('/.gatehouse/logout', { csrf: fields.csrf ?? '' }, headers);
      assert.equal(logout.status, 403, `${name} (logout)`);
    }
    assert.ok(!world.logs.records().some((line) => line.event === 'otp.requested'), 'no refused POST reached the code service');
    const ok = await victim.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: victimToken });
    assert.equal(ok.status, 303, 'the real form still works');
    await waitForMails(world.smtp, 1);
    assert.equal(world.smtp.received.length, 1, 'the only mail is the real form\'s');
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
      const client = world.client();
      const loginPage = await client.get(`/.gatehouse/login?rd=${encodeURIComponent(rd)}`);
      assert.equal(hiddenField(loginPage.text(), 'rd'), '/', `login form keeps no hostile rd: ${JSON.stringify(rd)}`);
      // Submitting the hostile value directly must not help either.
      const { post, codePage } = await submitEmail(client, 'bob@example.com', { form: loginPage, rd });
      assert.equal(post.headers.location, '/.gatehouse/code?rd=%2F', `the redirect keeps no hostile rd: ${JSON.stringify(rd)}`);
      assert.equal(hiddenField(codePage!.text(), 'rd'), '/', `code form keeps no hostile rd: ${JSON.stringify(rd)}`);
      mails += 1;
      await waitForMails(world.smtp, mails);
      world.advance(2000);
    }
    const client = world.client();
    const verified = await signIn(world, client, 'bob@example.com', 'http://other.test/deep/link?x=1');
    assert.equal(verified.headers.location, 'http://other.test/deep/link?x=1');
  });
});

describe('session fixation and forged cookies', () => {
  test('signing in issues a new session id, never the one the browser brought', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const attacker = world.client();
    assert.equal((await signIn(world, attacker, 'alice@partner.test')).status, 303);
    const planted = attacker.cookies.get('gatehouse')!;

    world.advance(60_000);
    const victim = world.client();
    victim.cookies.set('gatehouse', planted);
    // On "other" the planted alice session has no access, so the victim gets the email form.
    assert.equal((await signIn(world, victim, 'carol@example.com', 'http://other.test/')).status, 303);
    assert.notEqual(victim.cookies.get('gatehouse'), planted, 'the victim got a fresh id');
    await victim.get('/whoami', { host: 'other.test' });
    assert.equal(world.upstream.requests.at(-1)!.headers['x-auth-request-email'], 'carol@example.com');
    const requestsBefore = world.upstream.requests.length;
    const attackerAfter = await attacker.get('/whoami');
    assert.equal(attackerAfter.status, 302, "the planted id was retired at sign-in: it never carries the victim's identity");
    assert.equal(world.upstream.requests.length, requestsBefore);
  });

  test('forged, tampered and wrongly signed cookies are treated as no session', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    const real = decodeURIComponent(client.cookies.get('gatehouse')!);
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
      const response = await client.get('/private', { cookie: `gatehouse=${value}` });
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
      const client = world.client();
      const { codePage } = await requestCode(client, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const flow = client.cookies.get('gatehouse_flow')!;
      const fields = { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: '/' };
      assert.ok(startedSession(await client.postForm('/.gatehouse/verify', fields)));
      client.cookies.set('gatehouse_flow', flow);
      const replayer = world.client();
      const replay = await replayer.postForm('/.gatehouse/verify', fields, { cookie: `gatehouse_flow=${flow}; gatehouse_csrf=${client.cookies.get('gatehouse_csrf')}` });
      assert.equal(startedSession(replay), false);
      assert.equal(replay.headers.location, '/.gatehouse/code?rd=%2F');
      const said = await replayer.get(String(replay.headers.location), { cookie: `gatehouse_flow=${flow}` });
      assert.match(said.text(), /This code was already used/);
    });

    test('a code only works in the browser that asked for it', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const asker = world.client();
      await requestCode(asker, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const thief = world.client();
      const page = await thief.get('/.gatehouse/login');
      const stolen = await thief.postForm('/.gatehouse/verify', { code, csrf: hiddenField(page.text(), 'csrf'), rd: '/' });
      assert.equal(startedSession(stolen), false);
      assert.equal(thief.cookies.has('gatehouse'), false);
      assert.match((await thief.get(String(stolen.headers.location))).text(), /works only in the browser that asked for it/);
    });

    test('of ten parallel submissions of the right code exactly one signs in', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const client = world.client();
      const { codePage } = await requestCode(client, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const fields = { code, csrf: hiddenField(codePage.text(), 'csrf'), rd: '/' };
      const cookie = client.cookieHeader()!;
      const results = await Promise.all(Array.from({ length: 10 }, () => client.postForm('/.gatehouse/verify', fields, { cookie })));
      assert.equal(results.filter(startedSession).length, 1);
      assert.equal(world.logs.records().filter((line) => line.event === 'session.started').length, 1);
    });

    test('parallel wrong guesses over several codes never get more compared than the address allows (max_failures_per_email)', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store, 'otp:\n  resend_after: 1s');
      t.after(() => world.close());
      const browsers = [world.client(), world.client(), world.client(), world.client()];
      const pages: Response[] = [];
      for (const client of browsers) {
        pages.push((await requestCode(client, 'target@example.com')).codePage);
        world.advance(2000);
      }
      // Four codes, five tries each: 20 guesses at once against a cap of 10 wrong codes an hour.
      await Promise.all(
        browsers.flatMap((client, i) =>
          Array.from({ length: 5 }, () => client.postForm('/.gatehouse/verify', { code: '12345678', csrf: hiddenField(pages[i]!.text(), 'csrf'), rd: '/' })),
        ),
      );
      const compared = world.logs.records().filter((line) => line.event === 'otp.failed').length;
      assert.ok(compared <= 10, `${compared} guesses were compared against a cap of 10`);
    });

    test('parallel wrong guesses are all counted: no more than max_attempts are judged, then the code is dead', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const client = world.client();
      const { codePage } = await requestCode(client, 'bob@example.com');
      await waitForMails(world.smtp, 1);
      const code = codeFromMail(world.smtp.received[0]!.raw);
      const wrong = wrongCode(code);
      const csrf = hiddenField(codePage.text(), 'csrf');
      const cookie = client.cookieHeader()!;
      const results = await Promise.all(Array.from({ length: 30 }, () => client.postForm('/.gatehouse/verify', { code: wrong, csrf, rd: '/' }, { cookie })));
      const judged = world.logs.records().filter((line) => line.event === 'otp.failed').length;
      assert.ok(judged <= 5, `${judged} guesses were judged`);
      assert.equal(results.filter(startedSession).length, 0);
      const late = await client.postForm('/.gatehouse/verify', { code, csrf, rd: '/' }, { cookie });
      assert.equal(startedSession(late), false, 'after max_attempts even the right code is refused');
      assert.match((await client.get(String(late.headers.location))).text(), /Too many wrong tries for this code/);
    });
  });
}

describe('addresses', () => {
  test('header injection, lists, quotes and repeated fields get a 400 page that explains, and no mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    const page = await client.get('/.gatehouse/login');
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
      // Mail routing and encoded words: the code would go (or seem to go) somewhere else.
      'bob%evil.test@example.com',
      'evil.test!bob@example.com',
      '=?utf-8?q?admin?=@example.com',
    ];
    for (const email of bad) {
      const response = await client.postForm('/.gatehouse/login', { email, csrf });
      assert.equal(response.status, 400, JSON.stringify(email));
      assert.match(response.text(), /aria-invalid="true"/);
      assert.match(response.text(), /role="alert"/);
    }
    assert.ok(!world.logs.records().some((line) => line.event === 'otp.requested'), 'no bad address reached the code service');
  });
});

describe('identity headers next to a real session', () => {
  test('client-sent identity headers in every spelling are replaced by the signed-in address', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    await client.get('/x', {
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
    return html.replaceAll(email, 'EMAIL').replace(/name="csrf" value="[^"]*"/g, '');
  }

  test('an allowed and a not-allowed address get the same status, page and headers; only the allowed one gets mail', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const allowed = await requestCode(world.client(), 'bob@example.com');
    const notAllowed = await requestCode(world.client(), 'mallory@elsewhere.test');
    for (const part of ['post', 'codePage'] as const) {
      assert.equal(allowed[part].status, notAllowed[part].status, part);
      assert.equal(allowed[part].headers.location, notAllowed[part].headers.location, part);
      assert.equal(comparable(world, allowed[part].text(), 'bob@example.com'), comparable(world, notAllowed[part].text(), 'mallory@elsewhere.test'), part);
      const headerNames = (response: Response) => Object.keys(response.headers).filter((name) => name !== 'date').sort();
      assert.deepEqual(headerNames(allowed[part]), headerNames(notAllowed[part]), part);
    }
    // The gateway decided not to mail mallory (the decision is logged where the mail would be
    // sent), and a later allowed request's mail still arrives. Mails go out on several SMTP
    // connections at once, so their order says nothing: compare the recipients as a set.
    await eventually(() => world.logs.records().some((line) => line.event === 'otp.not_allowed' && line.email === 'mallory@elsewhere.test'), 5_000, 'the decision not to mail mallory');
    await requestCode(world.client(), 'carol@example.com');
    await waitForMails(world.smtp, 2);
    assert.deepEqual(world.smtp.received.map((mail) => mail.rcptTo.join()).sort(), ['bob@example.com', 'carol@example.com']);
    assert.equal(world.logs.records().filter((line) => line.event === 'otp.sent' && line.email_domain === 'elsewhere.test').length, 0);
  });

  test('the answer and its connection end as soon for an allowed address as for a refused one, however long the mail takes', async (t) => {
    // A mail that costs 80 ms of this process's CPU: done before the connection's end, it
    // would delay the FIN of an allowed address's answer by that much.
    const notifier: Notifier = {
      async sendSignInCode() {
        const until = performance.now() + 80;
        while (performance.now() < until);
        return 'sent';
      },
      async sendInvitation() {
        return 'sent';
      },
      async close() {},
    };
    const gw = await startGateway(
      `
routes:
  - name: app
    from: http://app.test/
    to: http://127.0.0.1:9
    allow: ["*@example.com"]
`,
      { notifier },
    );
    t.after(() => gw.close());
    const client = new FormClient(gw.port, 'app.test');
    const form = await client.get('/.gatehouse/login');
    // The client runs in a thread of its own, so the gateway's busy CPU cannot delay what it observes.
    const worker = new Worker(FIN_DELAY_CLIENT, { eval: true, workerData: { port: gw.port, cookie: client.cookieHeader(), csrf: hiddenField(form.text(), 'csrf'), emails: Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? `bob${i}@example.com` : `mallory${i}@elsewhere.test`)) } });
    const delays = await new Promise<Array<{ email: string; status: string; finDelayMs: number }>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    for (const { email, status, finDelayMs } of delays) {
      assert.match(status, /^HTTP\/1\.1 303 /, email);
      assert.ok(finDelayMs < 40, `the connection of ${email} ended ${finDelayMs.toFixed(1)} ms after the answer`);
    }
  });

  test('the answer is complete before the mail server is even contacted', async (t) => {
    const world = await startSignInWorld('memory');
    t.after(() => world.close());
    const client = world.client();
    const page = await client.get('/.gatehouse/login');
    const post = await client.postForm('/.gatehouse/login', { email: 'bob@example.com', csrf: hiddenField(page.text(), 'csrf') });
    assert.equal(post.status, 303);
    assert.equal(world.smtp.dataAttempts(), 0, 'no mail had been sent when the answer arrived');
    await waitForMails(world.smtp, 1);
  });
});

describe('slow bodies', () => {
  test('half a sign-in form is cut with a 408 within the form body limit; a slow upload to the app is not', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startGateway(
      `
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/upload"]
`,
      { formBodyTimeoutMs: 200 },
    );
    t.after(() => gw.close());
    const open = (head: string) => {
      const socket = net.connect(gw.port, '127.0.0.1');
      let received = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (received += chunk));
      const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
      socket.write(head);
      return { socket, closed, received: () => received };
    };
    const upload = open('POST /upload HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10\r\n\r\nhalf');
    const form = open('POST /.gatehouse/login HTTP/1.1\r\nHost: app.test\r\nAccept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=bo');
    await form.closed;
    assert.match(form.received(), /^HTTP\/1\.1 408 /);
    assert.match(form.received(), /The form took too long/);
    assert.equal(upload.socket.destroyed, false, 'the upload to the app is still going');
    upload.socket.write('of it!');
    await eventually(() => upload.received().startsWith('HTTP/1.1 200'), 2000, 'the upload was answered');
    assert.equal(upstream.requests.at(-1)!.body.toString(), 'halfof it!');
    upload.socket.destroy();
  });
});

/**
 * For each address: POST the email form with Connection: close, and measure from the last
 * byte of the answer to the end of the connection (the FIN). Plain JS: it runs in a Worker.
 */
const FIN_DELAY_CLIENT = `
const net = require('node:net');
const { performance } = require('node:perf_hooks');
const { parentPort, workerData } = require('node:worker_threads');
async function measure(email) {
  return new Promise((resolve, reject) => {
    const body = 'email=' + encodeURIComponent(email) + '&csrf=' + encodeURIComponent(workerData.csrf);
    const socket = net.connect(workerData.port, '127.0.0.1');
    let text = '';
    let lastData = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { text += chunk; lastData = performance.now(); });
    socket.on('end', () => resolve({ email, status: text.split('\\r\\n')[0], finDelayMs: performance.now() - lastData }));
    socket.on('error', reject);
    socket.write('POST /.gatehouse/login HTTP/1.1\\r\\nHost: app.test\\r\\nAccept: text/html\\r\\nConnection: close\\r\\nCookie: ' + workerData.cookie +
      '\\r\\nContent-Type: application/x-www-form-urlencoded\\r\\nContent-Length: ' + Buffer.byteLength(body) + '\\r\\n\\r\\n' + body);
  });
}
(async () => {
  const results = [];
  for (const email of workerData.emails) results.push(await measure(email));
  parentPort.postMessage(results);
})();
`;
