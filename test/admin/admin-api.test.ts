import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import supertest from 'supertest';
import { pino } from 'pino';
import { createAdminApiRouter } from '../../src/admin/admin-api.js';
import { createAdminClient, AdminClientError } from '../../src/cli/admin-client.js';
import { formatSessionsJson, formatSessionsTable } from '../../src/cli/format-sessions.js';
import { createSessionDirectory, type SessionSummary } from '../../src/session/session-directory.js';
import { namedSessions } from '../helpers/sessions.js';
import { createMemoryStore } from '../../src/store/memory-store.js';

const TOKEN = 'test-admin-token-0123456789';
const HOUR = 3_600_000;

const kv = createMemoryStore();
const named = namedSessions(kv);
const directory = createSessionDirectory(kv, { sessions: named.sessions });
const logLines: Array<Record<string, unknown>> = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  }),
);
let configuredToken = TOKEN;
let server: Server;
let baseUrl: string;
// The Express app under test: supertest calls it without a port of its own; the CLI's
// client below talks to it over a real socket.
const app = express();
app.use('/api', createAdminApiRouter({ directory, token: () => configuredToken, logger }));

before(async () => {
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await directory.close();
  await kv.close();
});

beforeEach(async () => {
  configuredToken = TOKEN;
  logLines.length = 0;
  await directory.revokeAll();
  for (const [id, email] of [['a1', 'a@example.com'], ['a2', 'a@example.com'], ['b1', 'b@example.com']] as const) {
    const now = Date.now();
    await named.startAs(id, email, now);
    await directory.recordSignIn(id, { email, signedInAt: now, expiresAt: now + HOUR, clientAddress: '198.51.100.4', userAgent: 'Mozilla/5.0' });
  }
});

/** `token: null` sends no Authorization header at all. */
async function api(method: 'GET' | 'DELETE', path: string, token: string | null = TOKEN): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const pending = method === 'GET' ? supertest(app).get(path) : supertest(app).delete(path);
  const response = await (token === null ? pending : pending.set('authorization', `Bearer ${token}`));
  return { status: response.status, body: JSON.parse(response.text) as Record<string, unknown>, text: response.text };
}

const revocationLogs = (): Array<Record<string, unknown>> => logLines.filter((line) => line.event === 'session.revoked');

describe('the admin API', () => {
  test('every endpoint answers 401 JSON without a token or with a wrong one, and changes nothing', async () => {
    for (const [method, path] of [['GET', '/api/sessions'], ['DELETE', '/api/sessions/a1'], ['DELETE', '/api/sessions?email=a@example.com'], ['DELETE', '/api/sessions?all=true']] as const) {
      for (const token of [null, 'wrong', `${TOKEN}x`, '']) {
        const { status, body } = await api(method, path, token);
        assert.equal(status, 401, `${method} ${path} with ${String(token)}`);
        assert.equal(body.error, 'unauthorized');
      }
    }
    assert.equal(await named.sessions.exists('a1'), true);
    assert.equal(revocationLogs().length, 0);
  });

  test('answers 403 admin_api_disabled when no token is configured, even to an empty bearer', async () => {
    configuredToken = '';
    for (const token of [null, '', 'anything']) {
      const { status, body } = await api('GET', '/api/sessions', token);
      assert.equal(status, 403);
      assert.equal(body.error, 'admin_api_disabled');
    }
  });

  test('lists sessions, optionally of one email', async () => {
    const all = await api('GET', '/api/sessions');
    assert.equal(all.status, 200);
    assert.deepEqual((all.body.sessions as SessionSummary[]).map((s) => s.id).sort(), ['a1', 'a2', 'b1']);
    const some = await api('GET', '/api/sessions?email=b%40example.com');
    assert.deepEqual((some.body.sessions as SessionSummary[]).map((s) => [s.id, s.email, s.clientAddress, s.userAgent]), [['b1', 'b@example.com', '198.51.100.4', 'Mozilla/5.0']]);
  });

  test('DELETE /api/sessions/:id ends that session, logs it, and 404s the second time', async () => {
    const { status, body } = await api('DELETE', '/api/sessions/a1');
    assert.equal(status, 200);
    assert.deepEqual(body, { count: 1 });
    assert.equal(await named.sessions.exists('a1'), false);
    assert.equal(await kv.get('sessinfo:a1'), undefined);
    assert.equal(await named.sessions.exists('a2'), true);
    const [line] = revocationLogs();
    assert.equal(line?.by, 'admin-api');
    assert.equal(line?.session_id, 'a1');
    assert.equal(line?.count, 1);
    assert.equal(line?.level, 30);
    const again = await api('DELETE', '/api/sessions/a1');
    assert.equal(again.status, 404);
    assert.equal(again.body.error, 'session_not_found');
  });

  test('DELETE /api/sessions?email=E ends every session of that email', async () => {
    const { status, body } = await api('DELETE', '/api/sessions?email=A%40example.com');
    assert.equal(status, 200);
    assert.deepEqual(body, { count: 2 });
    assert.equal(await named.sessions.exists('a1'), false);
    assert.equal(await named.sessions.exists('a2'), false);
    assert.equal(await named.sessions.exists('b1'), true);
    assert.deepEqual(revocationLogs().map((line) => [line.email, line.count]), [['A@example.com', 2]]);
  });

  test('DELETE /api/sessions?all=true ends every session', async () => {
    const { status, body } = await api('DELETE', '/api/sessions?all=true');
    assert.equal(status, 200);
    assert.deepEqual(body, { count: 3 });
    for (const id of ['a1', 'a2', 'b1']) assert.equal(await named.sessions.exists(id), false);
    assert.equal(revocationLogs()[0]?.count, 3);
  });

  test('a DELETE without a filter, or with both or odd ones, is 400 and revokes nothing', async () => {
    for (const path of ['/api/sessions', '/api/sessions?all=1', '/api/sessions?all=true&email=a%40example.com', '/api/sessions?email=a&email=b', '/api/sessions?email=']) {
      const { status, body } = await api('DELETE', path);
      assert.equal(status, 400, path);
      assert.equal(body.error, 'invalid_revocation');
    }
    assert.equal((await directory.list()).length, 3);
  });

  test('a store failure is a 503 JSON error without a stack', async () => {
    const { StoreUnavailableError } = await import('../../src/store/key-value-store.js');
    const broken = createSessionDirectory({ ...kv, setMembers: () => Promise.reject(new StoreUnavailableError()) }, { sessions: named.sessions });
    const brokenApp = express();
    brokenApp.use('/api', createAdminApiRouter({ directory: broken, token: () => TOKEN, logger }));
    try {
      const response = await supertest(brokenApp).get('/api/sessions').set('authorization', `Bearer ${TOKEN}`);
      assert.equal(response.status, 503);
      assert.deepEqual(JSON.parse(response.text).error, 'store_unavailable');
      assert.ok(!response.text.includes('at '), 'no stack trace');
    } finally {
      await broken.close();
    }
  });

  test('unknown API paths are 404 JSON', async () => {
    const { status, body } = await api('GET', '/api/nothing-here');
    assert.equal(status, 404);
    assert.equal(body.error, 'not_found');
  });
});

describe('the admin client', () => {
  test('lists and revokes through the API', async () => {
    const client = createAdminClient({ baseUrl: `${baseUrl}/`, token: TOKEN });
    assert.equal((await client.listSessions()).length, 3);
    assert.deepEqual((await client.listSessions('a@example.com')).map((s) => s.id).sort(), ['a1', 'a2']);
    assert.deepEqual(await client.revokeSession('b1'), { count: 1 });
    assert.equal(await named.sessions.exists('b1'), false);
    assert.deepEqual(await client.revokeEmail('a@example.com'), { count: 2 });
    assert.deepEqual(await client.listSessions(), []);
    assert.deepEqual(await client.revokeAll(), { count: 0 });
  });

  test('revokeAll ends everything', async () => {
    const client = createAdminClient({ baseUrl, token: TOKEN });
    assert.deepEqual(await client.revokeAll(), { count: 3 });
    assert.deepEqual(await client.listSessions(), []);
  });

  test('a refused token says so', async () => {
    const client = createAdminClient({ baseUrl, token: 'wrong' });
    await assert.rejects(client.listSessions(), (error: unknown) => error instanceof AdminClientError && error.code === 'unauthorized' && error.message.startsWith('the admin token was refused'));
  });

  test('a disabled API says that no token is configured', async () => {
    configuredToken = '';
    const client = createAdminClient({ baseUrl, token: TOKEN });
    await assert.rejects(client.revokeAll(), (error: unknown) => error instanceof AdminClientError && error.code === 'admin_api_disabled' && /no admin token/.test(error.message));
  });

  test('an unknown session id says which one', async () => {
    const client = createAdminClient({ baseUrl, token: TOKEN });
    await assert.rejects(client.revokeSession('nope'), (error: unknown) => error instanceof AdminClientError && error.code === 'session_not_found' && error.message.includes('nope'));
  });

  test('an unreachable listener says where it looked', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const client = createAdminClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN });
    await assert.rejects(
      client.listSessions(),
      (error: unknown) => error instanceof AdminClientError && error.code === 'unreachable' && error.message.startsWith("the gateway's admin listener at http://127.0.0.1:1 is not reachable"),
    );
  });
});

describe('formatting sessions', () => {
  const session: SessionSummary = {
    id: 'abc123',
    email: 'guest@example.com',
    created: '2024-05-01T12:34:56.789Z',
    lastSeen: '2024-05-01T13:00:00.000Z',
    clientAddress: '203.0.113.7',
    userAgent: 'Mozilla/5.0 \u001b[31mred\u001b[0m (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
    expiresAt: '2024-05-02T12:34:56.789Z',
  };

  test('the table has a header and one aligned line per session', () => {
    const lines = formatSessionsTable([session, { ...session, id: 'def', email: 'x@y.z' }]).trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /^EMAIL\s+CREATED\s+LAST SEEN\s+CLIENT\s+USER AGENT\s+ID$/);
    assert.match(lines[1] ?? '', /^guest@example\.com {2}2024-05-01 12:34:56Z {2}2024-05-01 13:00:00Z {2}203\.0\.113\.7 /);
    assert.ok(lines[1]?.endsWith('abc123'));
    assert.equal(lines[1]?.indexOf('2024'), lines[2]?.indexOf('2024'), 'columns line up');
  });

  test('control characters from a guest never reach the terminal and long agents are cut', () => {
    const table = formatSessionsTable([session]);
    assert.ok(!table.includes('\u001b'));
    assert.ok(table.includes('…'));
  });

  test('an empty list says so, and JSON round-trips', () => {
    assert.equal(formatSessionsTable([]), 'No sessions.\n');
    assert.deepEqual(JSON.parse(formatSessionsJson([session])), [session]);
  });
});
