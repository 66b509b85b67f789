#!/usr/bin/env node
// Runs every test/**/*.test.ts file with Node's own test runner (TypeScript through tsx).
// Node 20's --test does not expand globs itself, so the files are listed here.
// Extra arguments are passed on: `npm test -- test/config` runs only that folder.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function listTests(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listTests(join(path, name)));
}

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
const files = (roots.length > 0 ? roots : ['test']).flatMap(listTests);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=180000', '--test-reporter=spec', ...flags, ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
