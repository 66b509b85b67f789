/**
 * `;` path parameters against an upstream that treats them as Tomcat, Jetty and Spring do:
 * it drops them from every segment (and decodes `%3B` first), so `/admin;x/secret` is
 * `/admin/secret` to it. The gateway's policy must see the path the same way (SPEC section
 * 2): a protected app behind a public catch-all route, and a public `*.css` glob, must not
 * be reachable through a parameter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSignInWorld, signIn } from '../helpers/sign-in-world.js';
import { startUpstream } from '../helpers/servers.js';

/** What Tomcat serves for a request target: the path with every `;…` parameter removed. */
function tomcatPath(target: string): string {
  const path = decodeURIComponent(target.split('?')[0]!.replace(/%3B/gi, ';'));
  return path
    .split('/')
    .map((segment) => segment.split(';')[0])
    .join('/')
    .replace(/\/{2,}/g, '/');
}

test('policy sees the path without ; parameters, as a Tomcat-like app serves it', async (t) => {
  const served: string[] = [];
  const tomcat = await startUpstream((req, res) => {
    const path = tomcatPath(req.url!);
    served.push(path);
    const secret = path.startsWith('/admin/');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(secret ? `SECRET ${path}` : `public ${path}`);
  });
  t.after(() => tomcat.close());
  const world = await startSignInWorld('memory', '', `  - name: admin
    from: http://app.test/admin
    to: ${tomcat.origin}/admin
    strip_prefix: true
    allow: ["*@example.com"]
    public: ["/admin/**/*.css"]
  - name: site
    from: http://app.test/
    to: ${tomcat.origin}
    public: ["/**"]`);
  t.after(() => world.close());
  const anonymous = world.client();

  for (const target of ['/admin;x/secret', '/admin%3Bx/secret', '/admin%3bx/secret', '/admin/;/secret', '/admin;/secret', '/admin/secret.txt;.css', '/admin/secret.txt%3B.css']) {
    const before = served.length;
    const answer = await anonymous.get(target);
    assert.equal(answer.status, 302, `${target} is the protected app's: sign in first`);
    assert.doesNotMatch(answer.text(), /SECRET/);
    assert.equal(served.length, before, `${target} never reached the app`);
  }

  // Parameters still reach the app as sent, where the policy allows the request at all.
  const style = await anonymous.get('/admin/theme/app.css;v=2');
  assert.equal(style.status, 200, 'a public stylesheet with a cache-busting parameter');
  assert.equal(tomcat.requests.at(-1)!.url, '/admin/theme/app.css;v=2');
  const client = world.client();
  await signIn(world, client, 'bob@example.com', 'http://app.test/admin/');
  const signedIn = await client.get('/admin;jsessionid=1/secret');
  assert.equal(signedIn.status, 200);
  assert.equal(tomcat.requests.at(-1)!.url, '/admin/secret', 'strip_prefix drops the prefix segment, parameters and all');
  assert.equal((await client.get('/admin/x;y=1/secret')).status, 200);
  assert.equal(tomcat.requests.at(-1)!.url, '/admin/x;y=1/secret');

  // A double-encoded escape is what a twice-decoding app reads as another path: refused.
  for (const target of ['/%252e%252e/admin/secret', '/x%252Fadmin']) assert.equal((await anonymous.get(target)).status, 400, target);
});
