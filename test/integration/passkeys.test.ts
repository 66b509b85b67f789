/**
 * Passkeys at the gateway's HTTP surface, with a software authenticator standing in for the
 * browser (test/helpers/soft-authenticator.ts; the browser itself is test/e2e/passkeys.test.ts):
 * the assertion an app gets and forward-auth's answer say `amr`; a `require: passkey` route
 * answers a code session with the step-up page or `passkey_required`; the rules on adding and
 * removing hold against a client that calls the endpoints directly; a synced passkey's
 * replayed answer is refused by the used challenge; ops list and remove passkeys through the
 * admin API, and `uninvite` removes them; two gateways on one Redis share them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { request } from '../helpers/servers.js';
import { FormClient, postJson } from '../helpers/form-client.js';
import { signIn, startSignInWorld, type SignInWorld } from '../helpers/sign-in-world.js';
import { createSoftAuthenticator } from '../helpers/soft-authenticator.js';
import { addPasskey, csrfOf, passkeySignIn } from '../helpers/passkey-client.js';
import { redisSkipReason } from '../store/redis-test-support.js';
import { uniqueRedisPrefix, REDIS_URL } from '../helpers/redis.js';

const ADMIN_TOKEN = 'admin-token-for-the-passkey-tests';
const ORIGIN = 'http://app.test';
const ROUTES = (upstream: string) => `  - name: app
    from: http://app.test/
    to: ${upstream}
    allow: ["*@example.com"]
  - name: vault
    from: http://app.test/vault
    to: ${upstream}
    allow: ["*@example.com"]
    require: passkey`;
const EXTRA = `trust_proxy: ["127.0.0.0/8"]\nadmin:\n  listen: 127.0.0.1:0\n  token: ${ADMIN_TOKEN}`;

function adminCall(world: SignInWorld, method: string, path: string) {
  return request(world.gw.adminPort!, { method, path, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}

describe('passkeys at the HTTP surface', () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld('memory', EXTRA, ROUTES);
  });
  after(() => world.close());

  test('a passkey session needs no mail, and the app and forward-auth see amr passkey', async () => {
    const device = createSoftAuthenticator();
    const setup = new FormClient(world.gw.port, 'app.test');
    assert.equal((await signIn(world, setup, 'ann@example.com')).status, 303);
    const added = await addPasskey(setup, device);
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.equal(added.json.redirect, '/.gatehouse/');

    const mails = world.smtp.received.length;
    const client = new FormClient(world.gw.port, 'app.test');
    const { answer } = await passkeySignIn(client, device, 'http://app.test/reports?q=1');
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.equal(answer.json.redirect, 'http://app.test/reports?q=1');
    assert.equal(world.smtp.received.length, mails, 'no mail');

    const before = world.upstream.requests.length;
    assert.equal((await client.get('/vault/keys')).status, 200, 'a passkey session passes require: passkey');
    const seen = world.upstream.requests.slice(before).at(-1)!;
    assert.equal(seen.headers['x-auth-request-email'], 'ann@example.com');
    assert.deepEqual(decodeJwt(String(seen.headers['x-gatehouse-assertion'])).amr, ['passkey']);

    const asked = await request(world.gw.port, { path: '/.gatehouse/auth/request', headers: { host: 'gw', 'x-original-url': 'http://app.test/vault/x', cookie: client.cookieHeader()! } });
    assert.equal(asked.status, 200);
    assert.deepEqual(decodeJwt(String(asked.headers['x-gatehouse-assertion'])).amr, ['passkey']);
  });

  test('a code session on a require: passkey route gets the step-up page, passkey_required, and the same from forward-auth', async () => {
    const client = new FormClient(world.gw.port, 'app.test');
    assert.equal((await signIn(world, client, 'bob@example.com')).status, 303);
    assert.equal((await client.get('/')).status, 200, 'the code is enough elsewhere');
    const before = world.upstream.requests.length;

    const page = await client.get('/vault/report?x=1');
    assert.equal(page.status, 302);
    assert.equal(page.headers.location, `http://app.test/.gatehouse/passkey?rd=${encodeURIComponent('http://app.test/vault/report?x=1')}`);
    const api = await client.get('/vault/report', { accept: 'application/json' });
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.text()).error, 'passkey_required');
    const nginx = await request(world.gw.port, { path: '/.gatehouse/auth/request', headers: { host: 'gw', 'x-original-url': 'http://app.test/vault/report', cookie: client.cookieHeader()! } });
    assert.equal(nginx.status, 401);
    assert.match(String(nginx.headers.location), /\/\.gatehouse\/passkey\?rd=/);
    assert.equal(JSON.parse(nginx.body.toString()).error, 'passkey_required');
    assert.equal(world.upstream.requests.length, before, 'the vault saw nothing');

    // The step-up page offers to add one (no passkey yet, fresh code); after adding, the vault opens.
    const stepUp = await client.get(String(page.headers.location).replace('http://app.test', ''));
    assert.equal(stepUp.status, 200);
    assert.match(stepUp.text(), /data-passkeys="add"/);
    const added = await addPasskey(client, createSoftAuthenticator());
    assert.equal(added.status, 200);
    assert.equal((await client.get('/vault/report?x=1')).status, 200);
    const seen = world.upstream.requests.at(-1)!;
    assert.deepEqual(decodeJwt(String(seen.headers['x-gatehouse-assertion'])).amr, ['otp', 'passkey']);
  });

  test('adding needs a fresh code, and once there is a passkey, a session that used one', async () => {
    const signedOut = new FormClient(world.gw.port, 'app.test');
    assert.equal((await addPasskey(signedOut, createSoftAuthenticator())).status, 403);

    const client = new FormClient(world.gw.port, 'app.test');
    assert.equal((await signIn(world, client, 'cid@example.com')).status, 303);
    world.advance(11 * 60_000);
    const late = await addPasskey(client, createSoftAuthenticator());
    assert.equal(late.status, 403);
    assert.deepEqual([late.json.error, late.json.reason], ['passkey_not_allowed', 'fresh_code_needed']);

    // The guest's own passkey, added in time on another browser.
    const own = new FormClient(world.gw.port, 'app.test');
    world.advance(31_000);
    assert.equal((await signIn(world, own, 'cid@example.com')).status, 303);
    assert.equal((await addPasskey(own, createSoftAuthenticator())).status, 200);

    // Someone who reads cid's mail signs in by code and tries to add theirs.
    const intruder = new FormClient(world.gw.port, 'app.test');
    world.advance(31_000);
    assert.equal((await signIn(world, intruder, 'cid@example.com')).status, 303);
    const theirs = await addPasskey(intruder, createSoftAuthenticator());
    assert.equal(theirs.status, 403);
    assert.equal(theirs.json.reason, 'passkey_needed');
    // Nor may they remove the guest's.
    const id = JSON.parse((await adminCall(world, 'GET', '/api/passkeys?email=cid@example.com')).body.toString()).passkeys[0].id as string;
    const form = await intruder.get('/.gatehouse/');
    const removal = await intruder.postForm('/.gatehouse/passkeys/remove', { csrf: /name="csrf" value="([^"]+)"/.exec(form.text())![1]!, id });
    assert.equal(removal.status, 303);
    assert.equal(removal.headers.location, '/.gatehouse/?passkey=passkey_needed');
    assert.equal(JSON.parse((await adminCall(world, 'GET', '/api/passkeys?email=cid@example.com')).body.toString()).passkeys.length, 1);
  });

  test("a synced passkey's answer sent again is refused by the used challenge; a made-up or foreign one too", async () => {
    const device = createSoftAuthenticator({ synced: true });
    const setup = new FormClient(world.gw.port, 'app.test');
    assert.equal((await signIn(world, setup, 'dee@example.com')).status, 303);
    assert.equal((await addPasskey(setup, device)).status, 200);

    const client = new FormClient(world.gw.port, 'app.test');
    const { answer, body } = await passkeySignIn(client, device);
    assert.equal(answer.status, 200);
    const attacker = new FormClient(world.gw.port, 'app.test');
    attacker.cookies.set('gatehouse_csrf', client.cookies.get('gatehouse_csrf')!);
    const replayed = await postJson(attacker, '/.gatehouse/passkeys/sign-in', body);
    assert.equal(replayed.status, 400);
    assert.deepEqual([replayed.json.error, replayed.json.reason], ['passkey_refused', 'replayed']);
    assert.equal(attacker.cookies.has('gatehouse'), false, 'no session');

    // An answer signed for another origin, with a challenge of ours: the origin gives it away.
    const csrf = await csrfOf(attacker);
    const options = (await postJson(attacker, '/.gatehouse/passkeys/sign-in/options', { csrf })).json.options as { challenge: string };
    const foreign = await postJson(attacker, '/.gatehouse/passkeys/sign-in', { csrf, rd: '/', response: device.authenticate({ ...options, rpId: 'app.test' }, 'http://evil.test') });
    assert.equal(foreign.status, 400);
    assert.match(String(foreign.json.reason), /^not_verified: .*origin/i);
    // A challenge the gateway never issued.
    const madeUp = await postJson(attacker, '/.gatehouse/passkeys/sign-in', { csrf, rd: '/', response: device.authenticate({ challenge: Buffer.from('v1.sign_in.9999999999999.AAAAAAAAAAAAAAAAAAAAAA.' + 'A'.repeat(43)).toString('base64url') }, ORIGIN) });
    assert.deepEqual([madeUp.status, madeUp.json.reason], [400, 'challenge']);
    // Without the CSRF token, nothing is even looked at.
    const forged = await postJson(new FormClient(world.gw.port, 'app.test'), '/.gatehouse/passkeys/sign-in', body);
    assert.equal(forged.status, 403);
  });

  test('ops list and remove passkeys through the admin API; uninvited guests lose theirs and a removed one no longer signs in', async () => {
    const device = createSoftAuthenticator();
    const setup = new FormClient(world.gw.port, 'app.test');
    assert.equal((await signIn(world, setup, 'eve@example.com')).status, 303);
    assert.equal((await addPasskey(setup, device, 'Phone')).status, 200);

    const listed = JSON.parse((await adminCall(world, 'GET', '/api/passkeys?email=EVE@example.com')).body.toString()).passkeys as Array<Record<string, unknown>>;
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0]!).sort(), ['created', 'email', 'host', 'id', 'lastUsed', 'name']);
    assert.deepEqual([listed[0]!.email, listed[0]!.name, listed[0]!.host], ['eve@example.com', 'Phone', 'app.test']);
    assert.equal((await adminCall(world, 'DELETE', '/api/passkeys/AAAAAAAAAAAAAAAAAAAAAA')).status, 404);
    const removed = await adminCall(world, 'DELETE', '/api/passkeys?email=eve@example.com');
    assert.deepEqual(JSON.parse(removed.body.toString()), { count: 1 });
    assert.ok(world.logs.records().some((line) => line.event === 'passkey.removed' && line.by === 'admin-api' && line.count === 1));

    const { answer } = await passkeySignIn(new FormClient(world.gw.port, 'app.test'), device);
    assert.deepEqual([answer.status, answer.json.reason], [400, 'unknown_passkey']);
    assert.equal((await request(world.gw.adminPort!, { path: '/api/passkeys' })).status, 401, 'the admin API needs its token');
  });
});

const redisSkip = await redisSkipReason('the passkeys-on-two-gateways test');

describe('passkeys on two gateways sharing one Redis', { skip: redisSkip }, () => {
  test('a passkey added through one gateway signs in through the other', async () => {
    const store = { yaml: `    redis:\n      url: ${REDIS_URL}\n      prefix: "${uniqueRedisPrefix()}"` };
    const one = await startSignInWorld(store, EXTRA, ROUTES);
    const two = await startSignInWorld(store, EXTRA, ROUTES);
    try {
      const device = createSoftAuthenticator();
      const setup = new FormClient(one.gw.port, 'app.test');
      assert.equal((await signIn(one, setup, 'ann@example.com')).status, 303);
      assert.equal((await addPasskey(setup, device)).status, 200);
      const client = new FormClient(two.gw.port, 'app.test');
      const { answer } = await passkeySignIn(client, device);
      assert.equal(answer.status, 200, JSON.stringify(answer.json));
      assert.equal((await client.get('/vault/')).status, 200);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
