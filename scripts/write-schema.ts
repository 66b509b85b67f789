/** Writes config/gateway.schema.json from the zod schema (`npm run schema`). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderEditorJsonSchema } from '../src/config/editor-json-schema.js';

const target = fileURLToPath(new URL('../config/gateway.schema.json', import.meta.url));
writeFileSync(target, renderEditorJsonSchema());
console.log(`wrote ${target}`);
