/**
 * Fuzzing the config loader with fast-check: malformed YAML, random documents, huge values
 * and odd Unicode in every field of a valid config. It never crashes or throws anything but
 * a ConfigError, and every error line names the file (and, when there is one, the line).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, parseConfigText } from '../../src/config/load-config.js';

const VALID = {
  listen: '127.0.0.1:8080',
  session: { secret: '0123456789abcdef0123456789abcdef', store: 'memory', lifetime: '24h' },
  otp: { digits: 8, ttl: '10m' },
  mail: { transport: 'log' },
  assertion: { ttl: '5m', header: 'X-Gatehouse-Assertion' },
  routes: [{ name: 'wiki', from: 'http://wiki.example.com/', to: 'http://127.0.0.1:3000', allow: ['*@example.com'], public: ['/assets/**'], timeout: '30s' }],
};

/** Loads `text` and checks the outcome is a config or a ConfigError with well-formed lines. */
function loadsOrExplains(text: string): void {
  try {
    parseConfigText(text, 'gateway.yaml', {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${error instanceof Error ? error.stack : String(error)}`);
    assert.ok(error.errors.length > 0);
    for (const line of error.errors) assert.match(line, /^gateway\.yaml(:\d+)?[ :]/, line);
  }
}

const oddText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '\ufeff', 'é', '😀'.repeat(50), 'x'.repeat(100_000), '${', '${NOPE}', '&a', '*a', '!!binary', '!!js/function', '? ', '- - -', '{', '[', '"', "'", '|', '>', '%YAML 9.9', '---\n---'),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  oddText,
  fc.constantFrom(0, -1, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0.5, true, false, null),
  fc.array(oddText, { maxLength: 3 }),
  fc.dictionary(oddText, oddText, { maxKeys: 3 }),
);

test('random text never crashes the loader', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), loadsOrExplains), { numRuns: 300 });
});

test('random YAML documents never crash the loader', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (document) => loadsOrExplains(stringify(document))), { numRuns: 300 });
});

test('a valid config with one field replaced by something odd loads or names that field', () => {
  const paths: string[][] = [];
  const walk = (value: unknown, path: string[]) => {
    paths.push(path);
    if (value && typeof value === 'object') for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
  };
  walk(VALID, []);
  fc.assert(
    fc.property(fc.constantFrom(...paths.filter((path) => path.length > 0)), oddValue, (path, value) => {
      const document = structuredClone(VALID) as Record<string, unknown>;
      let parent = document as Record<string, unknown>;
      for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
      parent[path.at(-1)!] = value;
      loadsOrExplains(stringify(document));
    }),
    { numRuns: 400 },
  );
});

test('malformed YAML (a valid config cut or spliced at random) never crashes the loader', () => {
  const text = stringify(VALID);
  fc.assert(
    fc.property(fc.nat(text.length), fc.nat(text.length), oddText, (from, to, insert) => {
      loadsOrExplains(text.slice(0, Math.min(from, to)) + insert + text.slice(Math.max(from, to)));
    }),
    { numRuns: 400 },
  );
});
