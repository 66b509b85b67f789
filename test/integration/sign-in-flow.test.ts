/**
 * Email one-time-code sign-in end to end, with a real SMTP server receiving the mails and
 * on both session stores (memory and real Redis).
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient } from '../helpers/form-client.js';
import { redisSkipReason } from '../helpers/redis.js';
import { parseRawMail } from '../helpers/mail.js';
import { codeFromMail, signIn, startSignInWorld, submitCode, submitEmail, waitForMails } from '../helpers/sign-in-world.js';

for (const store of ['memory', 'redis'] as const) {
  describe(`sign-in flow (${store} store)`, () => {
    let skip: string | undefined;
    before(async () => {
      skip = store === 'redis' ? await redisSkipReason() : undefined;
    });

    test('a guest is sent to sign in, gets a code by mail, and lands on the exact URL with identity headers', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const client = world.client();

      const first = await client.get('/private/page?x=1&y=%20two');
      assert.equal(first.status, 302);
      const location = new URL(String(first.headers.location));
      assert.equal(location.origin + location.pathname, 'http://app.test/.gatehouse/login');
      assert.equal(location.searchParams.get('rd'), 'http://app.test/private/page?x=1&y=%20two');
      assert.equal(world.upstream.requests.length, 0, 'nothing reached the app before sign-in');

      const loginPage = await client.get(location.pathname + location.search);
      assert.equal(loginPage.status, 200);
      assert.match(loginPage.text(), /<label for="email">/);
      assert.ok(loginPage.headers['content-security-policy'], 'helmet headers on the gateway pages');

      const { post, codePage } = await submitEmail(client, '  Bob@Example.COM ', { form: loginPage });
      assert.equal(post.status, 303, 'the email POST redirects to the code page: a reload never sends another mail');
      assert.equal(codePage?.status, 200);
      assert.match(codePage.text(), /bob@example\.com/);
      assert.match(codePage.text(), /autocomplete="one-time-code"/);
      await waitForMails(world.smtp, 1);
      const mail = world.smtp.received[0]!;
      assert.deepEqual(mail.rcptTo, ['bob@example.com']);
      const parsed = parseRawMail(mail.raw);
      const code = codeFromMail(mail.raw);
      assert.match(parsed.header('subject') ?? '', new RegExp(code));
      assert.match(parsed.html, new RegExp(code));

      const verified = await submitCode(client, codePage, code);
      assert.equal(verified.status, 303);
      assert.equal(verified.headers.location, 'http://app.test/private/page?x=1&y=%20two');
      const sessionCookie = (verified.headers['set-cookie'] ?? []).find((line) => line.startsWith('gatehouse='));
      assert.ok(sessionCookie, 'a session cookie is set');
      assert.match(sessionCookie, /HttpOnly/i);
      assert.match(sessionCookie, /SameSite=Lax/i);

      const app = await client.get('/private/page?x=1&y=%20two', { cookie: `${client.cookieHeader()}; theme=dark` });
      assert.equal(app.status, 200);
      const seen = world.upstream.requests.at(-1)!;
      assert.equal(seen.url, '/private/page?x=1&y=%20two');
      assert.equal(seen.headers['x-auth-request-email'], 'bob@example.com');
      assert.equal(seen.headers['x-auth-request-user'], 'bob@example.com');
      assert.equal(seen.headers['x-forwarded-email'], 'bob@example.com');
      assert.equal(seen.headers['x-forwarded-user'], 'bob@example.com');
      assert.equal(seen.headers['x-auth-request-groups'], '');
      assert.equal(seen.headers.cookie, 'theme=dark', "the gateway's cookies never reach the app; others do");

      const events = world.logs.records().map((line) => line.event);
      for (const event of ['otp.requested', 'otp.sent', 'session.started']) assert.ok(events.includes(event), `${event} logged`);
      assert.ok(!world.logs.lines.some((line) => line.includes(code)), 'the code is never logged');
      const sessionValue = sessionCookie.split(';')[0]!.split('=')[1]!;
      assert.ok(!world.logs.lines.some((line) => line.includes(sessionValue)), 'the cookie is never logged');
    });

    test("a route's header named like an identity header replaces that header's value, once", async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store, '', (origin) => `  - name: app
    from: http://app.test/
    to: ${origin}
    allow: ["*@example.com"]
    headers: {"X-Auth-Request-User": "legacy:{email}", "X-Remote-Who": "{email}"}`);
      t.after(() => world.close());
      const client = world.client();
      assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
      assert.equal((await client.get('/x')).status, 200);
      const raw = world.upstream.requests.at(-1)!.rawHeaders;
      const values = (name: string) => raw.filter((value, index) => index % 2 === 1 && raw[index - 1]!.toLowerCase() === name);
      assert.deepEqual(values('x-auth-request-user'), ['legacy:bob@example.com']);
      assert.deepEqual(values('x-auth-request-email'), ['bob@example.com']);
      assert.deepEqual(values('x-remote-who'), ['bob@example.com']);
    });

    test('logout ends the session in the store, so the old cookie no longer works', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const client = world.client();
      assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
      const cookie = client.cookieHeader()!;
      assert.equal((await client.get('/x')).status, 200);
      const out = await client.get('/.gatehouse/logout');
      assert.equal(out.status, 200);
      assert.match(out.text(), /signed out/i);
      const replay = await client.get('/x', { cookie });
      assert.equal(replay.status, 302, 'a copy of the old cookie is dead');
      assert.ok(world.logs.records().some((line) => line.event === 'session.ended'));
    });

    test('a group member gets the group in X-Auth-Request-Groups; a signed-in address not allowed on a route gets a 403 page naming it', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const client = world.client();
      assert.equal((await signIn(world, client, 'alice@partner.test')).status, 303);
      await client.get('/x');
      assert.equal(world.upstream.requests.at(-1)!.headers['x-auth-request-groups'], 'partners');

      const other = new FormClient(world.gw.port, 'other.test');
      assert.equal((await signIn(world, other, 'bob@example.com', 'http://other.test/')).status, 303);
      const denied = await other.get('/');
      assert.equal(denied.status, 403);
      assert.match(denied.text(), /bob@example\.com/);
      assert.match(denied.text(), /\/\.gatehouse\/logout\?rd=/);
      const deniedJson = await other.get('/', { accept: 'application/json' });
      assert.equal(deniedJson.status, 403);
      assert.equal(deniedJson.json<{ error: string }>().error, 'forbidden');
      assert.ok(world.logs.records().some((line) => line.event === 'access.denied'));
    });

    test('an API client without a session gets 401 JSON with the sign-in URL', async (t) => {
      if (skip) return t.skip(skip);
      const world = await startSignInWorld(store);
      t.after(() => world.close());
      const response = await world.client().get('/api/items', { accept: 'application/json' });
      assert.equal(response.status, 401);
      const body = response.json<{ error: string; login_url: string }>();
      assert.equal(body.error, 'unauthenticated');
      assert.equal(body.login_url, `http://app.test/.gatehouse/login?rd=${encodeURIComponent('http://app.test/api/items')}`);
      const post = await world.client().postForm('/form', { a: '1' });
      assert.equal(post.status, 401, 'a browser POST without a session is 401, not a redirect');
    });
  });
}

describe('WebSockets behind sign-in', () => {
  test('a signed-in guest opens a WebSocket with identity headers and without the gateway cookie; without a session it is refused', async (t) => {
    const { WebSocketServer, WebSocket } = await import('ws');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    t.after(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise((resolve) => wss.once('listening', resolve));
    const wsPort = (wss.address() as { port: number }).port;
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    wss.on('connection', (socket, req) => {
      seen.push(req.headers);
      socket.on('message', (data) => socket.send(`echo:${String(data)}`));
    });
    const world = await startSignInWorld(
      'memory',
      '',
      `  - name: app
    from: http://app.test/
    to: http://127.0.0.1:${wsPort}
    allow: ["*@example.com"]`,
    );
    t.after(() => world.close());
    const client = world.client();
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);

    const open = (cookie?: string) =>
      new Promise<{ reply?: string; status?: number }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${world.gw.port}/live`, { headers: { host: 'app.test', ...(cookie ? { cookie } : {}) } });
        ws.on('open', () => ws.send('hi'));
        ws.on('message', (data) => {
          resolve({ reply: String(data) });
          ws.close();
        });
        ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
        ws.on('error', reject);
      });
    assert.deepEqual(await open(`${client.cookieHeader()}; theme=dark`), { reply: 'echo:hi' });
    assert.equal(seen[0]!['x-auth-request-email'], 'bob@example.com');
    assert.equal(seen[0]!.cookie, 'theme=dark');
    assert.deepEqual(await open(), { status: 401 });
    assert.deepEqual(await open('gatehouse=s%3Aforged.sig'), { status: 401 });
    assert.equal(seen.length, 1, 'refused upgrades never reached the app');
  });
});
