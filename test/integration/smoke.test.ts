import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request, startGateway, startUpstream } from '../helpers/servers.js';

test('a public path is proxied to the upstream and a protected one answers 401', async (t) => {
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const gw = await startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/public/**"]
`);
  t.after(() => gw.close());
  const ok = await request(gw.port, { path: '/public/x?y=1', headers: { host: 'app.test' } });
  assert.equal(ok.status, 200);
  assert.equal(upstream.requests[0]?.url, '/public/x?y=1');
  const denied = await request(gw.port, { path: '/private', headers: { host: 'app.test' } });
  assert.equal(denied.status, 401);
  assert.equal(upstream.requests.length, 1);
});
