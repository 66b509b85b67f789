#!/usr/bin/env node
// Runs the fault-injection suite, test/faults/*.fault.ts, with Node's own test runner
// (TypeScript through tsx). The files are not *.test.ts, so `npm test` leaves them out: they
// start real redis-server, app and gateway processes, break them under load and time the
// recovery. One file at a time, so no scenario's timings share the cores with another's.
// `npm run test:faults` builds first: the gateway under test is the built bin/gatehouse.js.
// Extra arguments are passed on: `npm run test:faults -- test/faults/smtp.fault.ts`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function listFaults(path) {
  if (statSync(path).isFile()) return path.endsWith('.fault.ts') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listFaults(join(path, name)));
}

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const flags = process.argv.slice(2).filter((arg) => arg.startsWith('-'));
const files = (roots.length > 0 ? roots : ['test/faults']).flatMap(listFaults);
if (files.length === 0) {
  console.error('run-faults: no *.fault.ts files found');
  process.exit(1);
}
const started = Date.now();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=120000', '--test-reporter=spec', ...flags, ...files],
  { stdio: 'inherit' },
);
console.log(`run-faults: ${files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
