/** The README's tables are what operators read; these tests keep them true to the code. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { GATEWAY_ERRORS } from '../../src/http/errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows (cells trimmed) of the first table after `heading`. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(heading);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const rows: string[][] = [];
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    if (/^\|\s*`/.test(line)) rows.push(line.split('|').slice(1, -1).map((cell) => cell.trim()));
  }
  return rows;
}

test('the README error code table lists exactly the codes the gateway answers with, with their statuses', () => {
  const documented = Object.fromEntries(tableAfter('### Error codes').map(([code, status]) => [code!.replace(/`/g, ''), Number(status)]));
  const actual = Object.fromEntries(Object.entries(GATEWAY_ERRORS).map(([code, spec]) => [code, spec.status]));
  assert.deepEqual(documented, actual);
});

test('every log event the source emits is in the README log event table', () => {
  const documented = new Set(
    tableAfter('### Log events').flatMap(([events]) => [...events!.matchAll(/`([a-z_.]+)`/g)].map((match) => match[1]!)),
  );
  const emitted = new Set<string>();
  const sources = readdirSync(new URL('../../src', import.meta.url), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));
  for (const file of sources) {
    const text = readFileSync(new URL(`../../src/${file}`, import.meta.url), 'utf8');
    for (const match of text.matchAll(/event: '([a-z_.]+)'/g)) emitted.add(match[1]!);
  }
  assert.ok(emitted.size > 5);
  assert.deepEqual([...emitted].filter((event) => !documented.has(event)), []);
});
