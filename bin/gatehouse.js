#!/usr/bin/env node
// The installed command. It runs the compiled CLI (npm install builds it via "prepare").
// `serve` gives itself the Node flags it needs (src/heap-relaunch.ts): nothing to pass here.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/run-cli.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('gatehouse: dist/ is missing; run "npm run build" first\n');
  process.exit(1);
}
await import(entry.href);
