/**
 * A revoked session never comes back (SPEC section 4), attacked on both stores: with
 * `idle_timeout`, gateway A still holds the session in its one-second cache when gateway B
 * revokes it; A's next request notes activity. That write used to put the whole session back
 * for its lifetime, invisible to the admin API and to `revoke --all`. Now it writes only over
 * a record that still exists.
 */
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient } from '../helpers/form-client.js';
import { startGateway, startUpstream, request } from '../helpers/servers.js';
import { startTestSmtpServer } from '../helpers/mail.js';
import { codeFromMail, mailTo, submitCode, submitEmail } from '../helpers/sign-in-world.js';
import { redisSkipReason, REDIS_URL, uniqueRedisPrefix } from '../helpers/redis.js';
import { createGatewayMemoryStore } from '../../src/store/create-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import type { KeyValueStore } from '../../src/store/key-value-store.js';

const TOKEN = 'revival-admin-token-0123456789';

for (const storeKind of ['memory', 'redis'] as const) {
  describe(`revoked sessions stay revoked (${storeKind} store)`, () => {
    let skip: string | undefined;
    before(async () => {
      skip = storeKind === 'redis' ? await redisSkipReason() : undefined;
    });

    test("a request in gateway A's cache window after B revoked the session writes nothing back", async (t) => {
      if (skip) return t.skip(skip);
      const upstream = await startUpstream();
      const smtp = await startTestSmtpServer();
      let offset = 0;
      const clock = () => Date.now() + offset;
      const prefix = uniqueRedisPrefix();
      // A's own store connection: a read through it comes after A's writes (one connection, in order).
      const storeOf = (): KeyValueStore => (storeKind === 'memory' ? shared : createRedisStore({ url: REDIS_URL, prefix }));
      const shared = createGatewayMemoryStore({ clock });
      const storeA = storeOf();
      const storeB = storeKind === 'memory' ? shared : storeOf();
      const yaml = `
admin:
  listen: 127.0.0.1:0
  token: ${TOKEN}
session:
  secret: revival-secret-with-at-least-32-characters
  idle_timeout: 30m
  store: ${storeKind === 'memory' ? 'memory' : `{ redis: { url: "${REDIS_URL}", prefix: "${prefix}" } }`}
mail:
  transport: smtp
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
`;
      const a = await startGateway(yaml, { clock, store: storeA });
      const b = await startGateway(yaml, { clock, store: storeB });
      t.after(async () => {
        await a.close();
        await b.close();
        await storeA.close();
        if (storeB !== storeA) await storeB.close();
        await upstream.close();
        await smtp.close();
      });

      const guest = new FormClient(a.port, 'app.test');
      const { codePage } = await submitEmail(guest, 'bob@example.com');
      await submitCode(guest, codePage!, codeFromMail(await mailTo(smtp, 'bob@example.com')));
      assert.equal((await guest.get('/x')).status, 200, 'signed in on A, and A has the session cached');

      const admin = (method: string, path: string) => request(b.adminPort!, { method, path, headers: { authorization: `Bearer ${TOKEN}` } });
      const listed = (await admin('GET', '/api/sessions')).json<{ sessions: Array<{ id: string }> }>().sessions;
      assert.equal(listed.length, 1);
      const id = listed[0]!.id;
      assert.equal((await admin('DELETE', '/api/sessions?all=true')).json<{ count: number }>().count, 1, 'B revokes every session');

      // Past the touch interval, still inside A's one-second cache window: A notes activity.
      offset += 2 * 60_000;
      await guest.get('/x');
      assert.equal(await storeA.get(`sess:${id}`), undefined, 'nothing was written back');
      assert.equal((await storeB.get(`sess:${id}`)), undefined);
      assert.deepEqual((await admin('GET', '/api/sessions')).json<{ sessions: unknown[] }>().sessions, []);
      assert.equal((await new FormClient(b.port, 'app.test').get('/x', { cookie: guest.cookieHeader()! })).status, 302, 'B sees no session');
    });
  });
}
