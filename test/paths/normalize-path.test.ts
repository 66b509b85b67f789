import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRequestTarget, type NormalizedTarget } from '../../src/paths/normalize-path.js';

/** Node gives req.url as latin1: one char per byte. This builds such a string from UTF-8 text. */
function asLatin1RequestLine(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** The result without policyPath (tested on its own below), for the tables of forwarded paths. */
function withoutPolicyPath(result: NormalizedTarget): unknown {
  if (!result.ok) return result;
  const { policyPath: _policyPath, ...rest } = result;
  return rest;
}

describe('normalizeRequestTarget', () => {
  const accepted: readonly { name: string; raw: string; path: string; query?: string }[] = [
    { name: 'the root stays the root', raw: '/', path: '/' },
    { name: 'a clean path is returned unchanged', raw: '/app/x/y.html', path: '/app/x/y.html' },
    { name: 'a trailing slash is kept', raw: '/app/', path: '/app/' },
    { name: 'sub-delimiters, colons and at-signs stay raw', raw: "/a/!$&'()*+,;=:@", path: "/a/!$&'()*+,;=:@" },
    { name: 'the query is split off at the first question mark', raw: '/a?b=1?c=/../', path: '/a', query: '?b=1?c=/../' },
    { name: 'an empty query keeps its question mark', raw: '/a?', path: '/a', query: '?' },
    { name: 'the query is passed through untouched', raw: '/a?x=%zz&y=\\&z=%2F', path: '/a', query: '?x=%zz&y=\\&z=%2F' },
    { name: 'encoded unreserved characters are decoded', raw: '/%41%7a%30%2D%2e%5F%7E', path: '/Az0-._~' },
    { name: 'escapes that stay encoded get upper-case hex', raw: '/a%3b%3f%23%25%20', path: '/a%3B%3F%23%25%20' },
    { name: 'raw bytes not allowed in a path are percent-encoded', raw: '/a b"<>[]^`{|}#', path: '/a%20b%22%3C%3E%5B%5D%5E%60%7B%7C%7D%23' },
    { name: 'raw UTF-8 bytes are percent-encoded', raw: asLatin1RequestLine('/café'), path: '/caf%C3%A9' },
    { name: 'percent-encoded UTF-8 is kept encoded with upper-case hex', raw: '/caf%c3%a9', path: '/caf%C3%A9' },
    { name: 'a four-byte UTF-8 character is accepted', raw: '/%F0%9F%98%80', path: '/%F0%9F%98%80' },
    { name: 'duplicate slashes are folded', raw: '//a///b//', path: '/a/b/' },
    { name: 'single-dot segments are removed', raw: '/a/./b/.', path: '/a/b/' },
    { name: 'double-dot segments remove the previous segment', raw: '/a/b/../c', path: '/a/c' },
    { name: 'a final double-dot leaves a trailing slash', raw: '/a/b/..', path: '/a/' },
    { name: 'climbing back to the root is allowed', raw: '/a/..', path: '/' },
    { name: 'encoded dots are dot segments', raw: '/a/%2e%2E/b/%2e', path: '/b/' },
    { name: 'a half-encoded double dot is a dot segment', raw: '/a/.%2e/b', path: '/b' },
    { name: 'dots inside a segment are literal', raw: '/a/..b/c../.x', path: '/a/..b/c../.x' },
    { name: 'a well-known path is kept', raw: '/.well-known/acme-challenge/x', path: '/.well-known/acme-challenge/x' },
    { name: 'a semicolon after a normal name is kept', raw: '/a;jsessionid=1/b', path: '/a;jsessionid=1/b' },
    { name: 'a percent sign that escapes nothing is kept', raw: '/a/100%25/b', path: '/a/100%25/b' },
  ];
  for (const { name, raw, path, query = '' } of accepted) {
    test(`${name}: ${JSON.stringify(raw)} → ${path}`, () => {
      assert.deepEqual(withoutPolicyPath(normalizeRequestTarget(raw)), { ok: true, path, query });
    });
  }

  const rejected: readonly { name: string; raw: string; reason: RegExp }[] = [
    { name: 'an empty target is not origin-form', raw: '', reason: /origin-form/ },
    { name: 'the asterisk form is refused', raw: '*', reason: /origin-form/ },
    { name: 'the absolute form is refused', raw: 'http://evil.example/admin', reason: /origin-form/ },
    { name: 'a target without a leading slash is refused', raw: 'admin', reason: /origin-form/ },
    { name: 'a raw NUL is refused', raw: '/a\u0000b', reason: /control/ },
    { name: 'a raw CR LF is refused', raw: '/a\r\nSet-Cookie: x', reason: /control/ },
    { name: 'a raw tab is refused', raw: '/a\tb', reason: /control/ },
    { name: 'a raw DEL is refused', raw: '/a\u007fb', reason: /control/ },
    { name: 'control characters in the query are refused', raw: '/a?x=\r\nSet-Cookie:1', reason: /control character in query/ },
    { name: 'a raw backslash is refused', raw: '/a\\b', reason: /backslash/ },
    { name: 'an encoded slash is refused', raw: '/a%2fb', reason: /encoded slash/ },
    { name: 'an upper-case encoded slash is refused', raw: '/a%2Fb', reason: /encoded slash/ },
    { name: 'an encoded backslash is refused', raw: '/a%5cb', reason: /encoded backslash/ },
    { name: 'an encoded NUL is refused', raw: '/a%00', reason: /encoded NUL/ },
    { name: 'an encoded CR is refused', raw: '/a%0D', reason: /encoded control/ },
    { name: 'an encoded DEL is refused', raw: '/a%7f', reason: /encoded control/ },
    { name: 'a lone percent sign is refused', raw: '/a%', reason: /malformed/ },
    { name: 'a percent sign with one hex digit is refused', raw: '/a%4', reason: /malformed/ },
    { name: 'a percent sign with a non-hex digit is refused', raw: '/a%G1', reason: /malformed/ },
    { name: 'an IIS-style %u escape is refused', raw: '/a%u002e', reason: /malformed/ },
    { name: 'an escape cut by the query is refused', raw: '/a%4?1', reason: /malformed/ },
    { name: 'an overlong dot is refused', raw: '/%c0%ae%c0%ae/x', reason: /UTF-8/ },
    { name: 'an overlong slash is refused', raw: '/a%c0%afb', reason: /UTF-8/ },
    { name: 'a three-byte overlong dot is refused', raw: '/a%e0%80%ae', reason: /UTF-8/ },
    { name: 'an encoded UTF-16 surrogate is refused', raw: '/a%ed%a0%80', reason: /UTF-8/ },
    { name: 'a truncated UTF-8 sequence is refused', raw: '/a%c3', reason: /UTF-8/ },
    { name: 'a UTF-8 sequence cut by a slash is refused', raw: '/a%c3/%a9', reason: /UTF-8/ },
    { name: 'a stray continuation byte is refused', raw: '/a%a9', reason: /UTF-8/ },
    { name: 'raw bytes that are not UTF-8 are refused', raw: '/a\u00c0\u00ae', reason: /UTF-8/ },
    { name: 'a character beyond latin1 is refused', raw: '/a\u2215b', reason: /non-byte/ },
    { name: 'a double dot at the root climbs above it', raw: '/..', reason: /above the root/ },
    { name: 'more double dots than segments climb above the root', raw: '/a/../../etc/passwd', reason: /above the root/ },
    { name: 'encoded double dots above the root are refused', raw: '/%2e%2e/x', reason: /above the root/ },
    { name: 'a double dot with path parameters is refused', raw: '/a/..;/b', reason: /dot segment/ },
    { name: 'a single dot with path parameters is refused', raw: '/a/.;x/b', reason: /dot segment/ },
    { name: 'an encoded double dot with path parameters is refused', raw: '/a/%2e%2e;/b', reason: /dot segment/ },
    { name: 'a double dot with an encoded semicolon is refused', raw: '/a/..%3b/b', reason: /dot segment/ },
    { name: 'a triple dot is refused', raw: '/a/.../b', reason: /dot segment/ },
    { name: 'a double dot with a trailing space is refused', raw: '/a/..%20/b', reason: /dot segment/ },
  ];
  for (const { name, raw, reason } of rejected) {
    test(`${name}: ${JSON.stringify(raw)}`, () => {
      const result = normalizeRequestTarget(raw);
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, reason);
    });
  }

  test('a normalised path normalises to itself', () => {
    for (const { raw } of accepted) {
      const first = normalizeRequestTarget(raw);
      assert.ok(first.ok);
      assert.deepEqual(withoutPolicyPath(normalizeRequestTarget(first.path)), { ok: true, path: first.path, query: '' }, raw);
    }
  });

  test('random mixes of dangerous pieces either fail or yield a canonical, dot-free path', () => {
    const pieces = ['/', '/', 'a', 'public', '.', '..', '%2e', '%2E', '%2f', '%5c', '\\', ';', '%3b', '%', '%c0', '%ae', '%c3', '%a9', '\u00c3', '\u00a9', '%41', '%00', ' ', '?', '~', '%7e'];
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    for (let run = 0; run < 20_000; run++) {
      let raw = '/';
      const length = 1 + Math.floor(random() * 10);
      for (let i = 0; i < length; i++) raw += pieces[Math.floor(random() * pieces.length)];
      const result = normalizeRequestTarget(raw);
      if (!result.ok) continue;
      assert.deepEqual(withoutPolicyPath(normalizeRequestTarget(result.path)), { ok: true, path: result.path, query: '' }, raw);
      // Policy sees at most as much as is forwarded, never a dot segment either.
      assert.ok(!/\/\.\.?(?:\/|$)/.test(decodeURIComponent(result.policyPath)), `dot segment in the policy path ${result.policyPath} from ${raw}`);
      // What an upstream sees after decoding must not hold anything it would resolve differently.
      const decoded = decodeURIComponent(result.path);
      assert.ok(!/\/\.\.?(?:\/|$)/.test(decoded), `dot segment left in ${result.path} from ${raw}`);
      assert.ok(!decoded.includes('//') && !decoded.includes('\\') && !decoded.includes('\0'), `${result.path} from ${raw}`);
      assert.ok(!/%(?:2F|5C|00|2E|[a-f][0-9a-f]|[0-9a-f][a-f])/.test(result.path), `${result.path} from ${raw}`);
    }
  });
});

describe('the policy path: what routing and public see', () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['/admin;x/secret', '/admin;x/secret', '/admin/secret'],
    ['/admin/secret.txt;.css', '/admin/secret.txt;.css', '/admin/secret.txt'],
    ['/a;jsessionid=1/b;v=2', '/a;jsessionid=1/b;v=2', '/a/b'],
    ['/admin/;x/secret', '/admin/;x/secret', '/admin/secret'],
    ['/admin%3Bx/secret', '/admin%3Bx/secret', '/admin/secret'],
    ['/admin%3bx/secret', '/admin%3Bx/secret', '/admin/secret'],
    ['/app/;x', '/app/;x', '/app'],
    ['/plain/path', '/plain/path', '/plain/path'],
    ['/dir;x/', '/dir;x/', '/dir/'],
  ];
  for (const [raw, path, policyPath] of cases) {
    test(`${raw} is forwarded as ${path} and judged as ${policyPath}`, () => {
      const result = normalizeRequestTarget(raw);
      assert.ok(result.ok);
      assert.equal(result.path, path);
      assert.equal(result.policyPath, policyPath);
    });
  }

  for (const raw of ['/a/%252e%252e/admin', '/a/%252F', '/%25%32%65', '/a%2541']) {
    test(`a double-encoded escape is refused: ${raw}`, () => {
      const result = normalizeRequestTarget(raw);
      assert.equal(result.ok, false);
    });
  }
});
