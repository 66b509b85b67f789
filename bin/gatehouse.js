#!/usr/bin/env -S node --initial-old-space-size=64
// The installed command. It runs the compiled CLI (npm install builds it via "prepare").
// --initial-old-space-size: see "Node flags" in docs/performance.md (Dockerfile and
// `npm start` pass it too).
import { existsSync } from 'node:fs';

const entry = new URL('../dist/run-cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('gatehouse: dist/ is missing; run "npm run build" first\n');
  process.exit(1);
}
await import(entry.href);
