import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildEditorJsonSchema, renderEditorJsonSchema } from '../../src/config/editor-json-schema.js';

const committedFile = new URL('../../config/gateway.schema.json', import.meta.url);

test('the committed config/gateway.schema.json equals the one generated from the schema', () => {
  assert.equal(readFileSync(committedFile, 'utf8'), renderEditorJsonSchema(), 'run `npm run schema` and commit the result');
});

test('the editor schema rejects unknown keys and lists the top-level sections', () => {
  const schema = buildEditorJsonSchema();
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required, ['routes']);
  assert.ok(typeof schema.$id === 'string' && typeof schema.title === 'string');
  assert.deepEqual(Object.keys(schema.properties as object), [
    'listen', 'workers', 'trust_proxy', 'admin', 'invitations', 'session', 'otp', 'mail', 'groups', 'branding', 'assertion', 'routes',
  ]);
});
