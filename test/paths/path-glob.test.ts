import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compilePathGlob, compilePathGlobs } from '../../src/paths/path-glob.js';

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

  test('several globs compile into one predicate that matches when any of them does', () => {
    const isPublic = compilePathGlobs(['/healthz', '/assets/**', '/**/*.css']);
    assert.deepEqual(
      ['/healthz', '/assets/x', '/a/b.css', '/admin', '/healthz/x'].map(isPublic),
      [true, true, true, false, false],
    );
    assert.equal(compilePathGlobs([])('/'), false);
  });

  test('many wildcards against a long adversarial path finish in linear time (no ReDoS)', () => {
    const isPublic = compilePathGlobs(['/**/a/**/a/**/a/**/a/**/b', '/**/*a*a*a*a*a*b', '/*a*a*a*a*b/**/c']);
    const paths = ['/' + 'a/'.repeat(4000) + 'a', '/' + 'a'.repeat(8000), '/' + 'a'.repeat(4000) + '/' + 'a/'.repeat(2000)];
    const started = process.hrtime.bigint();
    for (const path of paths) assert.equal(isPublic(path), false);
    // A naive translation takes seconds on 600 characters; this must stay far below that.
    assert.ok(process.hrtime.bigint() - started < 200_000_000n, 'glob matching took longer than 200 ms');
  });

  test('compiled globs agree with a plain recursive matcher on random globs and paths', () => {
    let seed = 0x1234567;
    const random = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return Math.floor(((seed >>> 0) / 2 ** 32) * n);
    };
    const pick = <T>(items: readonly T[]) => items[random(items.length)] as T;
    for (let run = 0; run < 10_000; run++) {
      const globSegments = Array.from({ length: 1 + random(5) }, () =>
        pick(['**', '*', 'a', 'b', 'a*', '*b', 'a*b', '*a*', 'a?', '?', 'ab', '*a*b*', '']),
      );
      const glob = '/' + globSegments.filter((segment, i) => segment !== '' || i === globSegments.length - 1).join('/');
      const pathSegments = Array.from({ length: random(7) }, () => pick(['a', 'b', 'ab', 'ba', 'aab', 'abb', 'x', 'bab']));
      const path = '/' + pathSegments.join('/') + (random(4) === 0 ? '/' : '');
      assert.equal(compilePathGlob(glob)(path), referenceGlobMatch(glob, path), `${glob} against ${path}`);
    }
  });
});

/** Exponential but obviously right: the semantics of the module header, on whole segments. */
function referenceGlobMatch(glob: string, path: string): boolean {
  const matchSegments = (globParts: readonly string[], pathParts: readonly string[]): boolean => {
    if (globParts.length === 0) return pathParts.length === 0;
    const [head, ...rest] = globParts as [string, ...string[]];
    if (head === '**') {
      // `/x/**` also matches `/x/` (one empty trailing segment), like any number of segments.
      for (let skip = 0; skip <= pathParts.length; skip++) if (matchSegments(rest, pathParts.slice(skip))) return true;
      return false;
    }
    return pathParts.length > 0 && matchChars(head, pathParts[0] as string) && matchSegments(rest, pathParts.slice(1));
  };
  const matchChars = (pattern: string, text: string): boolean => {
    if (pattern === '') return text === '';
    if (pattern[0] === '*') return [...Array(text.length + 1).keys()].some((i) => matchChars(pattern.slice(1), text.slice(i)));
    if (text === '') return false;
    return (pattern[0] === '?' || pattern[0] === text[0]) && matchChars(pattern.slice(1), text.slice(1));
  };
  return matchSegments(glob.slice(1).split('/'), path.slice(1).split('/'));
}
