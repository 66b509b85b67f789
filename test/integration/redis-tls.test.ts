/**
 * TLS to Redis with a private CA and client certificates (SPEC section 8). A real
 * `redis-server` that speaks only TLS and requires a client certificate signed by its CA,
 * started by the test on a loopback port; the certificates are made by openssl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway } from '../helpers/servers.js';
import { captureLogs, hasOpenssl } from '../helpers/mail.js';
import { eventually } from '../helpers/raw-http.js';
import { SECRET, signedInCookie, startSignInWorld } from '../helpers/sign-in-world.js';
import { createPrivateCa, redisServerSkipReason, startTlsRedis, type PrivateCa, type RedisProcess } from '../helpers/redis-processes.js';
import { uniqueRedisPrefix } from '../helpers/redis.js';

const skip = redisServerSkipReason() ?? (hasOpenssl() ? undefined : 'openssl is not installed');

describe('TLS to Redis', { skip }, () => {
  let ca: PrivateCa;
  let redis: RedisProcess;

  before(async () => {
    ca = createPrivateCa();
    redis = await startTlsRedis(ca);
  });
  after(async () => {
    await redis?.stop();
  });

  test('with the private CA and a client certificate, guests sign in and stay signed in', async () => {
    const world = await startSignInWorld({
      yaml: [
        '    redis:',
        `      url: "rediss://127.0.0.1:${redis.port}"`,
        `      prefix: "${uniqueRedisPrefix()}"`,
        `      tls: { ca: "${ca.caFile}", cert: "${ca.clientCert}", key: "${ca.clientKey}" }`,
      ].join('\n'),
    });
    try {
      const cookie = await signedInCookie(world, 'ann@example.com');
      const answer = await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } });
      assert.equal(answer.status, 200);
      assert.equal(answer.json<{ headers: Record<string, string> }>().headers['x-auth-request-email'], 'ann@example.com');
    } finally {
      await world.close();
    }
  });

  for (const [what, tls] of [
    ['without a client certificate, the server refuses the gateway', () => `{ ca: "${ca.caFile}" }`],
    ['with a certificate of another CA, the server refuses the gateway', () => `{ ca: "${ca.caFile}", cert: "${ca.strangerCert}", key: "${ca.strangerKey}" }`],
    ['without the private CA, the gateway does not trust the server', () => `{ cert: "${ca.clientCert}", key: "${ca.clientKey}" }`],
  ] as const) {
    test(`${what}: not ready, and no protected request gets through`, async () => {
      const logs = captureLogs();
      const gw = await startGateway(
        `
session:
  secret: ${SECRET}
  store:
    redis:
      url: "rediss://127.0.0.1:${redis.port}"
      tls: ${tls()}
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`,
        { logger: logs.logger, waitUntilReady: false },
      );
      try {
        await eventually(() => logs.records().some((line) => line.event === 'store.unavailable'), 10_000, 'store.unavailable logged');
        assert.equal((await request(gw.adminPort!, { path: '/readyz' })).status, 503);
        const guest = await request(gw.port, { path: '/', headers: { host: 'app.test', cookie: 'gatehouse=s%3Aanything.sig' } });
        assert.notEqual(guest.status, 200);
      } finally {
        await gw.close();
      }
    });
  }
});
