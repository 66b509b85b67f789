import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathGlob } from '../../src/routes/path-glob.js';

describe('compilePathGlob', () => {
  const cases: readonly { glob: string; matches: readonly string[]; doesNotMatch: readonly string[] }[] = [
    {
      glob: '/healthz',
      matches: ['/healthz'],
      doesNotMatch: ['/healthz/', '/healthzz', '/Healthz', '/x/healthz', '/'],
    },
    {
      glob: '/assets/**',
      matches: ['/assets', '/assets/', '/assets/a', '/assets/a/b/c.js', '/assets/.hidden'],
      doesNotMatch: ['/assetsx', '/asset', '/ASSETS/a', '/x/assets/a', '/'],
    },
    {
      glob: '/a/**/b',
      matches: ['/a/b', '/a/x/b', '/a/x/y/b'],
      doesNotMatch: ['/a', '/a/xb', '/a/b/c', '/a/x/b/c', '/ab'],
    },
    {
      glob: '/**',
      matches: ['/', '/a', '/a/b/'],
      doesNotMatch: [],
    },
    {
      glob: '/**/*.css',
      matches: ['/x.css', '/a/b/x.css', '/.css'],
      doesNotMatch: ['/x.css/y', '/xcss', '/a/x.CSS'],
    },
    {
      glob: '/img/*.png',
      matches: ['/img/a.png', '/img/.png'],
      doesNotMatch: ['/img/a/b.png', '/img/a.png/', '/img/apng', '/img/a.PNG'],
    },
    {
      glob: '/files/*',
      matches: ['/files/a', '/files/', '/files/a%20b'],
      doesNotMatch: ['/files', '/files/a/b'],
    },
    {
      glob: '/v?/status',
      matches: ['/v1/status', '/vX/status'],
      doesNotMatch: ['/v/status', '/v12/status', '/v//status'],
    },
    {
      glob: '/a**b',
      matches: ['/ab', '/axxb'],
      doesNotMatch: ['/ax/yb'],
    },
    {
      glob: '/dir/',
      matches: ['/dir/'],
      doesNotMatch: ['/dir', '/dir/x'],
    },
    {
      glob: '/a.b+c(d)$[e]{f}|^',
      matches: ['/a.b+c(d)$%5Be%5D%7Bf%7D%7C%5E'],
      doesNotMatch: ['/aXb+c(d)$%5Be%5D%7Bf%7D%7C%5E'],
    },
    {
      glob: '/café/**',
      matches: ['/caf%C3%A9', '/caf%C3%A9/menu'],
      doesNotMatch: ['/caf%c3%a9', '/cafe'],
    },
    {
      glob: '/%7euser/%3b',
      matches: ['/~user/%3B'],
      doesNotMatch: ['/%7Euser/%3B', '/~user/;'],
    },
  ];
  for (const { glob, matches, doesNotMatch } of cases) {
    for (const path of matches) {
      test(`${glob} matches ${path}`, () => assert.equal(compilePathGlob(glob)(path), true));
    }
    for (const path of doesNotMatch) {
      test(`${glob} does not match ${path}`, () => assert.equal(compilePathGlob(glob)(path), false));
    }
  }

  const invalid: readonly { glob: string; problem: RegExp }[] = [
    { glob: 'assets/**', problem: /must start with/ },
    { glob: '', problem: /must start with/ },
    { glob: '/a//b', problem: /empty segment/ },
    { glob: '/a/../b', problem: /"\." or "\.\."/ },
    { glob: '/a/./b', problem: /"\." or "\.\."/ },
    { glob: '/a%zz', problem: /malformed/ },
    { glob: '/a%2fb', problem: /encoded/ },
    { glob: '/a\uD800', problem: /invalid character/ },
  ];
  for (const { glob, problem } of invalid) {
    test(`the glob ${JSON.stringify(glob)} is refused when compiled`, () => {
      assert.throws(() => compilePathGlob(glob), { name: 'TypeError', message: problem });
    });
  }
});
