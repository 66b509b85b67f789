/**
 * The assertion keys across real `gatehouse serve` processes: two gateways on one Redis sign
 * with one key, `gatehouse keys rotate` on one publishes the new signing key everywhere at
 * once (it was the announced next key), a memory-store gateway keeps its keys next to the
 * config across a restart, and a ring nobody can read keeps the gateway not ready rather
 * than replaced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createClient } from 'redis';
import type { JSONWebKeySet } from 'jose';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { runGatehouse, startGatewayProcess, writeTempConfig, type GatewayProcess } from '../helpers/process.js';
import { request } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import { REDIS_URL, redisSkipReason, uniqueRedisPrefix } from '../helpers/redis.js';

const TOKEN = 'admin-token-for-the-keys-test-0123456789';

interface KeysOverview {
  readonly source: string;
  readonly keys: ReadonlyArray<{ kid: string; state: string }>;
}

async function configFor(store: string): Promise<{ file: string; adminPort: number }> {
  const adminPort = await unusedLoopbackPort();
  const file = writeTempConfig(`
listen: 127.0.0.1:0
admin:
  listen: 127.0.0.1:${adminPort}
  token: ${TOKEN}
session:
  secret: keys-test-secret-with-at-least-32-chars!!
  store: ${store}
mail: { transport: log }
routes:
  - name: wiki
    from: http://wiki.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`);
  return { file, adminPort };
}

async function keysOf(adminPort: number): Promise<KeysOverview> {
  const answer = await request(adminPort, { path: '/api/keys', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(answer.status, 200, answer.text());
  return answer.json<KeysOverview>();
}

async function jwksKids(adminPort: number): Promise<string[]> {
  return (await request(adminPort, { path: '/jwks.json' })).json<JSONWebKeySet>().keys.map((key) => key.kid!);
}

const signingKid = (overview: KeysOverview) => overview.keys.find((key) => key.state === 'signing')?.kid;

async function run(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const proc = runGatehouse(args);
  let stdout = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await proc.exited;
  return { code, stdout: stdout + proc.stderr() };
}

describe('two gateways on one Redis', async () => {
  const skip = await redisSkipReason();
  const prefix = uniqueRedisPrefix();
  const store = `\n    redis:\n      url: ${REDIS_URL}\n      prefix: "${prefix}"`;
  let a: { proc: GatewayProcess; file: string; adminPort: number };
  let b: { proc: GatewayProcess; file: string; adminPort: number };
  before(async () => {
    if (skip) return;
    const [configA, configB] = [await configFor(store), await configFor(store)];
    // Started at once: still one ring.
    const [startedA, startedB] = await Promise.allSettled([startGatewayProcess(configA.file), startGatewayProcess(configB.file)]);
    if (startedA.status === 'fulfilled') a = { proc: startedA.value.proc, ...configA };
    if (startedB.status === 'fulfilled') b = { proc: startedB.value.proc, ...configB };
    // One that failed must not leave the other running: the file would never end.
    for (const started of [startedA, startedB]) if (started.status === 'rejected') throw started.reason;
    // As a deployment does: Redis connects, and the keys load, in the background.
    for (const port of [a.adminPort, b.adminPort]) await eventually(async () => (await request(port, { path: '/readyz' })).status === 200, 5000, 'ready');
  });
  after(async () => {
    await a?.proc.stop();
    await b?.proc.stop();
  });

  test('sign with the same key and publish the same JWKS', { skip }, async () => {
    const [keysA, keysB] = [await keysOf(a.adminPort), await keysOf(b.adminPort)];
    assert.ok(signingKid(keysA));
    assert.equal(signingKid(keysA), signingKid(keysB));
    assert.match(keysA.source, /session store/);
    assert.deepEqual(await jwksKids(a.adminPort), await jwksKids(b.adminPort));
  });

  test('`gatehouse keys rotate` on A: B already publishes the new signing key; the old one stays published', { skip }, async () => {
    const before = signingKid(await keysOf(a.adminPort))!;
    const listed = await run(['keys', '--config', a.file]);
    assert.equal(listed.code, 0, listed.stdout);
    assert.match(listed.stdout, new RegExp(`${before}\\s+signing`));

    const rotated = await run(['keys', 'rotate', '--config', a.file]);
    assert.equal(rotated.code, 0, rotated.stdout);
    const now = signingKid(await keysOf(a.adminPort))!;
    assert.notEqual(now, before);
    assert.match(rotated.stdout, new RegExp(`rotated: ${now} signs from now on; the previous key stays published for 24 h`));
    assert.ok((await jwksKids(b.adminPort)).includes(now), 'apps that fetched B’s JWKS can verify what A signs now');
    assert.ok((await jwksKids(a.adminPort)).includes(before), 'tokens signed before the rotation still verify');
    await a.proc.waitForLog((line) => line.event === 'assertion.keys_rotated' && line.kid === now);
  });

  test('a ring that cannot be read is never replaced: the gateway is not ready and says why', { skip }, async () => {
    const otherPrefix = uniqueRedisPrefix();
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    await client.set(`${otherPrefix}assertion:keys`, '{"v":1,"damaged":true}');
    const config = await configFor(`\n    redis:\n      url: ${REDIS_URL}\n      prefix: "${otherPrefix}"`);
    const { proc } = await startGatewayProcess(config.file);
    try {
      const warning = await proc.waitForLog((line) => line.event === 'assertion.keys_unavailable');
      assert.match(String(warning.error), /cannot be read; remove it to make new keys/);
      const readiness = await request(config.adminPort, { path: '/readyz' });
      assert.equal(readiness.status, 503);
      assert.match(readiness.text(), /assertion_keys/);
      assert.equal(await client.get(`${otherPrefix}assertion:keys`), '{"v":1,"damaged":true}', 'the ring apps trust is left alone');
    } finally {
      await proc.stop();
      await client.del(`${otherPrefix}assertion:keys`);
      await client.quit();
    }
  });
});

describe('a memory-store gateway keeps its keys next to its config', () => {
  test('made once, readable by the gateway only, the same after a restart', async () => {
    const config = await configFor('memory');
    const file = join(dirname(config.file), 'gatehouse-assertion-keys.json');
    const first = await startGatewayProcess(config.file);
    const kid = signingKid(await keysOf(config.adminPort));
    await first.proc.stop();
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).current.kid, kid);

    const second = await startGatewayProcess(config.file);
    try {
      assert.equal(signingKid(await keysOf(config.adminPort)), kid, 'apps that cached the JWKS need not fetch it again');
    } finally {
      await second.proc.stop();
    }
  });
});
