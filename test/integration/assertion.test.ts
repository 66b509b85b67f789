/**
 * The signed identity on proxied requests (SPEC sections 4 and 6): every signed-in request
 * reaches the app with an assertion that verifies against the gateway's JWKS, a client's own
 * copy never does, and `assertion.header` / `assertion.enabled` do what they say.
 */
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { request, startGateway } from '../helpers/servers.js';
import { parseConfigText } from '../../src/config/load-config.js';
import { SECRET, startSignInWorld, signIn, type SignInWorld } from '../helpers/sign-in-world.js';
import type { RecordedRequest } from '../helpers/servers.js';

function headerValues(recorded: RecordedRequest, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < recorded.rawHeaders.length; i += 2) {
    if (recorded.rawHeaders[i]!.toLowerCase() === name.toLowerCase()) values.push(recorded.rawHeaders[i + 1]!);
  }
  return values;
}

async function jwksOf(world: SignInWorld): Promise<JSONWebKeySet> {
  const answer = await request(world.gw.port, { path: '/.gatehouse/jwks.json', headers: { host: 'gatehouse.internal:8080' } });
  assert.equal(answer.status, 200, 'the JWKS is served on any Host (apps fetch it by the gateway’s own name)');
  return answer.json<JSONWebKeySet>();
}

async function lastUpstreamRequest(world: SignInWorld, send: () => Promise<{ status: number }>): Promise<RecordedRequest> {
  const before = world.upstream.requests.length;
  const answer = await send();
  assert.equal(answer.status, 200);
  assert.equal(world.upstream.requests.length, before + 1);
  return world.upstream.requests.at(-1)!;
}

describe('the assertion on proxied requests (on by default)', () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld('memory');
  });
  after(() => world.close());

  test('a signed-in request carries one assertion, verified against the JWKS, for this route only', async () => {
    const client = world.client();
    await signIn(world, client, 'bob@example.com');
    const forged = 'eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImJvc3NAZXhhbXBsZS5jb20ifQ.';
    const recorded = await lastUpstreamRequest(world, () => client.get('/reports', { 'x-gatehouse-assertion': forged, 'X_Gatehouse_Assertion': forged }));
    const values = headerValues(recorded, 'x-gatehouse-assertion');
    assert.equal(values.length, 1, 'the client’s copies were removed, the gateway’s is the only one');
    assert.equal(headerValues(recorded, 'x_gatehouse_assertion').length, 0);
    const keys = createLocalJWKSet(await jwksOf(world));
    const { payload } = await jwtVerify(values[0]!, keys, { issuer: 'http://app.test', audience: 'http://app.test', algorithms: ['ES256'] });
    assert.equal(payload.email, 'bob@example.com');
    await assert.rejects(jwtVerify(values[0]!, keys, { audience: 'http://other.test' }), /aud/, 'another app behind the gateway refuses it');

    const again = await lastUpstreamRequest(world, () => client.get('/reports/2'));
    assert.equal(headerValues(again, 'x-gatehouse-assertion')[0], values[0], 'the same token is reused: no signature per request');
  });

  test('a public path without a session gets none, and a client’s copy is removed', async () => {
    const recorded = await lastUpstreamRequest(world, () => request(world.gw.port, { path: '/open/readme', headers: { host: 'app.test', 'x-gatehouse-assertion': 'forged' } }));
    assert.deepEqual(headerValues(recorded, 'x-gatehouse-assertion'), []);
  });

  test('the JWKS: its media type, cached for five minutes, and the same keys on the admin listener', async () => {
    const answer = await request(world.gw.port, { path: '/.gatehouse/jwks.json', headers: { host: 'app.test' } });
    assert.match(String(answer.headers['content-type']), /^application\/jwk-set\+json(;|$)/);
    assert.equal(answer.headers['cache-control'], 'public, max-age=300');
    const keys = answer.json<JSONWebKeySet>().keys;
    assert.equal(keys.length, 2, 'the signing key and the next one');
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'public parts only');
    }
    const admin = await request(world.gw.adminPort!, { path: '/jwks.json' });
    assert.equal(admin.status, 200);
    assert.deepEqual(admin.json<JSONWebKeySet>().keys, keys);
  });
});

describe('assertion.header names the header', () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld('memory', 'assertion:\n  header: X-Identity-Token');
  });
  after(() => world.close());

  test('the assertion goes under that name, and a client’s copy of it is removed on every path', async () => {
    const client = world.client();
    await signIn(world, client, 'bob@example.com');
    const signedIn = await lastUpstreamRequest(world, () => client.get('/', { 'x-identity-token': 'forged' }));
    const values = headerValues(signedIn, 'x-identity-token');
    assert.equal(values.length, 1);
    assert.notEqual(values[0], 'forged');
    assert.deepEqual(headerValues(signedIn, 'x-gatehouse-assertion'), []);
    const open = await lastUpstreamRequest(world, () => request(world.gw.port, { path: '/open/x', headers: { host: 'app.test', 'x-identity-token': 'forged', 'x-identity_token': 'forged' } }));
    assert.deepEqual(headerValues(open, 'x-identity-token'), []);
    assert.deepEqual(headerValues(open, 'x-identity_token'), []);
  });
});

describe('assertion.enabled: false', () => {
  let world: SignInWorld;
  before(async () => {
    world = await startSignInWorld('memory', 'assertion:\n  enabled: false');
  });
  after(() => world.close());

  test('nothing is signed, the JWKS is empty, and a client’s assertion is still removed', async () => {
    const client = world.client();
    await signIn(world, client, 'bob@example.com');
    const recorded = await lastUpstreamRequest(world, () => client.get('/', { 'x-gatehouse-assertion': 'forged' }));
    assert.deepEqual(headerValues(recorded, 'x-gatehouse-assertion'), []);
    assert.equal(recorded.headers['x-auth-request-email'], 'bob@example.com', 'the plain identity headers are still sent');
    assert.deepEqual((await jwksOf(world)).keys, []);
  });
});

describe('the assertion on a WebSocket handshake', () => {
  let world: SignInWorld;
  let sockets: WebSocketServer;
  const handshakes: http.IncomingHttpHeaders[] = [];
  before(async () => {
    sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(sockets, 'listening');
    sockets.on('connection', (socket, req) => {
      handshakes.push(req.headers);
      socket.send('hello');
    });
    const origin = `http://127.0.0.1:${(sockets.address() as AddressInfo).port}`;
    world = await startSignInWorld('memory', '', () => `  - name: app\n    from: http://app.test/\n    to: ${origin}\n    allow: ["*@example.com"]`);
  });
  after(async () => {
    await world.close();
    sockets.close();
  });

  test('a signed-in upgrade carries its own verified assertion, not the client’s', async () => {
    const client = world.client();
    await signIn(world, client, 'bob@example.com');
    const socket = new WebSocket(`ws://127.0.0.1:${world.gw.port}/live`, {
      headers: { host: 'app.test', origin: 'http://app.test', cookie: client.cookieHeader()!, 'x-gatehouse-assertion': 'forged' },
    });
    const [message] = (await once(socket, 'message')) as [Buffer];
    assert.equal(message.toString(), 'hello');
    socket.close();
    const token = String(handshakes.at(-1)!['x-gatehouse-assertion']);
    assert.notEqual(token, 'forged');
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwksOf(world)), { audience: 'http://app.test', issuer: 'http://app.test' });
    assert.equal(payload.email, 'bob@example.com');
  });
});

describe('assertion.key_file is rotated by a reload', () => {
  test('a new key put first in the file signs after SIGHUP; the old one stays published', async () => {
    const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const [oldKey, newKey] = [pem(), pem()];
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-key-file-'));
    const keyFile = join(dir, 'assertion.pem');
    writeFileSync(keyFile, oldKey, { mode: 0o600 });
    const yaml = `
session: { secret: ${SECRET}, store: memory }
mail: { transport: log }
assertion: { key_file: ${keyFile} }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`;
    const gw = await startGateway(yaml);
    try {
      const kids = async () => (await request(gw.port, { path: '/.gatehouse/jwks.json', headers: { host: 'app.test' } })).json<JSONWebKeySet>().keys.map((key) => key.kid);
      const [oldKid] = await kids();
      writeFileSync(keyFile, newKey + oldKey);
      // What SIGHUP does: check the file again, then hand the new config to the gateway.
      const { config } = parseConfigText(`listen: 127.0.0.1:0\nadmin: { listen: "127.0.0.1:0" }\n${yaml}`, 'gateway.yaml', {});
      gw.gateway.reload(config);
      const after = await kids();
      assert.equal(after.length, 2);
      assert.notEqual(after[0], oldKid, 'the new key is first: it signs');
      assert.equal(after[1], oldKid, 'tokens signed before still verify');
    } finally {
      await gw.close();
    }
  });
});
