/**
 * The attack table: with `/public/**` public and everything else protected, no spelling of a
 * path may be judged public while an upstream would serve something else. Each request either
 * fails normalisation (400, never forwarded) or yields one path that is matched, judged and
 * forwarded as is, and that an upstream decoding it cannot resolve any differently.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayConfigSchema } from '../../src/config/schema.js';
import { compilePathGlob } from '../../src/paths/path-glob.js';
import { normalizeRequestTarget } from '../../src/paths/normalize-path.js';
import { createRouteTable } from '../../src/routes/route-table.js';

const { routes } = gatewayConfigSchema.parse({
  routes: [
    {
      name: 'app',
      from: 'http://app.example/',
      to: 'http://10.0.0.1:3000',
      allow: ['*@example.com'],
      public: ['/public/**'],
    },
  ],
});
const table = createRouteTable(routes);
const isPublicGlob = compilePathGlob('/public/**');

type Expectation = { rejected: RegExp } | { path: string; query?: string; isPublic: boolean };

const attacks: readonly { raw: string; expect: Expectation }[] = [
  { raw: '/public/../admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/%2e%2e/admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/%2E%2E/admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/.%2e/admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/%2e./admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/%2fadmin', expect: { rejected: /encoded slash/ } },
  { raw: '/public/%2Fadmin', expect: { rejected: /encoded slash/ } },
  { raw: '/public/..%2fadmin', expect: { rejected: /encoded slash/ } },
  { raw: '/public/..%2Fadmin', expect: { rejected: /encoded slash/ } },
  { raw: '/public/..;/admin', expect: { rejected: /dot segment/ } },
  { raw: '/public/%2e%2e;/admin', expect: { rejected: /dot segment/ } },
  { raw: '/public/..;jsessionid=x/admin', expect: { rejected: /dot segment/ } },
  { raw: '/public/..%3b/admin', expect: { rejected: /dot segment/ } },
  { raw: '/public/.../admin', expect: { rejected: /dot segment/ } },
  { raw: '/public/..%20/admin', expect: { rejected: /dot segment/ } },
  { raw: '//public/../admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public//../admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/..\\admin', expect: { rejected: /backslash/ } },
  { raw: '/public\\..\\admin', expect: { rejected: /backslash/ } },
  { raw: '/public/%5c../admin', expect: { rejected: /encoded backslash/ } },
  { raw: '/public/%5C..%5Cadmin', expect: { rejected: /encoded backslash/ } },
  { raw: '/PUBLIC/x', expect: { path: '/PUBLIC/x', isPublic: false } },
  { raw: '/Public/x', expect: { path: '/Public/x', isPublic: false } },
  { raw: '/public/%c0%ae%c0%ae/admin', expect: { rejected: /UTF-8/ } },
  { raw: '/public/%e0%80%ae%e0%80%ae/admin', expect: { rejected: /UTF-8/ } },
  { raw: '/public/%c0%afadmin', expect: { rejected: /UTF-8/ } },
  { raw: '/public/\u00c0\u00ae\u00c0\u00ae/admin', expect: { rejected: /UTF-8/ } },
  { raw: '/public/%00/admin', expect: { rejected: /encoded NUL/ } },
  { raw: '/public/x%00.css', expect: { rejected: /encoded NUL/ } },
  { raw: '/public/\u0000/admin', expect: { rejected: /control/ } },
  { raw: '/public/x%0d%0aSet-Cookie:%20a=b', expect: { rejected: /encoded control/ } },
  { raw: '/public/x\r\nSet-Cookie: a=b', expect: { rejected: /control/ } },
  { raw: '/public/x?\r\nSet-Cookie: a=b', expect: { rejected: /control character in query/ } },
  { raw: '/public/./../admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/x/../../admin', expect: { path: '/admin', isPublic: false } },
  { raw: '/public/../../admin', expect: { rejected: /above the root/ } },
  { raw: '/public/%', expect: { rejected: /malformed/ } },
  { raw: '/public/%u002e%u002e/admin', expect: { rejected: /malformed/ } },
  { raw: '/public/%%32%65%%32%65/admin', expect: { rejected: /malformed/ } },
  { raw: 'http://app.example/admin', expect: { rejected: /origin-form/ } },
  { raw: '*', expect: { rejected: /origin-form/ } },
  // Legitimately public: the decoded form is public and is also what gets forwarded.
  { raw: '/%70ublic/x', expect: { path: '/public/x', isPublic: true } },
  { raw: '/public/%78', expect: { path: '/public/x', isPublic: true } },
  { raw: '/public/a/./b/../c', expect: { path: '/public/a/c', isPublic: true } },
  { raw: '/public', expect: { path: '/public', isPublic: true } },
  // A double-encoded dot is a dot to an app that decodes twice: refused.
  { raw: '/public/%252e%252e/admin', expect: { rejected: /double-encoded/ } },
  // The query is not the path: `..` there changes nothing about what is served.
  { raw: '/public/x?../../admin', expect: { path: '/public/x', query: '?../../admin', isPublic: true } },
  { raw: '/admin?/public/x', expect: { path: '/admin', query: '?/public/x', isPublic: false } },
  { raw: '/admin#/public/x', expect: { path: '/admin%23/public/x', isPublic: false } },
  { raw: '/publicity', expect: { path: '/publicity', isPublic: false } },
];

describe('public path attacks against a /public/** route', () => {
  for (const { raw, expect } of attacks) {
    const outcome = 'rejected' in expect ? 'is rejected' : `is ${expect.isPublic ? 'public' : 'protected'} as ${expect.path}`;
    test(`${JSON.stringify(raw)} ${outcome}`, () => {
      const normalized = normalizeRequestTarget(raw);
      if ('rejected' in expect) {
        assert.equal(normalized.ok, false);
        assert.match((normalized as { reason: string }).reason, expect.rejected);
        return;
      }
      assert.ok(normalized.ok, `unexpectedly rejected: ${JSON.stringify(normalized)}`);
      assert.equal(normalized.path, expect.path);
      assert.equal(normalized.query, expect.query ?? '');

      // What an upstream would resolve: decode once and apply dot-segment removal. Nothing changes.
      const decoded = decodeURIComponent(normalized.path);
      assert.doesNotMatch(decoded, /(?:^|\/)\.\.?(?:[/;]|$)|\/\/|\\|\0/);
      assert.equal(new URL(normalized.path, 'http://upstream.internal').pathname, normalized.path);

      // isPublic is computed on that same path, and that same path is what is forwarded.
      const match = table.match('app.example', 80, normalized.path, normalized.query);
      assert.ok(match);
      assert.equal(match.isPublic, expect.isPublic);
      assert.equal(match.isPublic, isPublicGlob(normalized.path));
      assert.equal(match.upstreamTarget, normalized.path + normalized.query);
    });
  }
});

test('no random mix of traversal pieces is judged public unless an upstream would serve it under /public', () => {
  const pieces = ['/', 'public', 'admin', '.', '..', '%2e', '%2E', '%2f', '%5c', '\\', ';', '%3b', '%c0', '%ae', '%70', '%', '?', '%00'];
  let seed = 0x9e3779b9;
  const random = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (let run = 0; run < 20_000; run++) {
    let raw = '/';
    const length = 1 + Math.floor(random() * 8);
    for (let i = 0; i < length; i++) raw += pieces[Math.floor(random() * pieces.length)];
    const normalized = normalizeRequestTarget(raw);
    if (!normalized.ok) continue;
    const match = table.match('app.example', 80, normalized.path, normalized.query);
    assert.ok(match, raw);
    const servedPath = new URL(decodeURIComponent(normalized.path), 'http://upstream.internal').pathname;
    const servedUnderPublic = servedPath === '/public' || servedPath.startsWith('/public/');
    if (match.isPublic) assert.ok(servedUnderPublic, `${raw} judged public but an upstream serves ${servedPath}`);
    assert.equal(match.upstreamTarget, normalized.path + normalized.query, raw);
  }
});
