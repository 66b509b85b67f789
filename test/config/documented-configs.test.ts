/**
 * The example config and the README's YAML are what newcomers copy; they are validated
 * against the schema here so they cannot rot.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile, parseConfigText } from '../../src/config/load-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

// The README may show `${GATEHOUSE_SECRET}`-style references without defaults: give every
// variable named like a credential a long placeholder, and leave the rest unset so that
// `${NAME:-default}` uses its default as on a fresh machine.
const documentationEnv: NodeJS.ProcessEnv = new Proxy(
  {},
  { get: (_target, name) => (typeof name === 'string' && /SECRET|TOKEN|PASS|KEY/.test(name) ? 'x'.repeat(40) : undefined) },
);

describe('documented configs validate', () => {
  test('gateway.example.yaml at the repository root validates with an empty environment', () => {
    const file = join(root, 'gateway.example.yaml');
    assert.ok(existsSync(file), 'gateway.example.yaml is missing at the repository root (SPEC section 1 requires it)');
    const { config } = loadConfigFile(file, {});
    assert.ok(config.routes.length > 0);
  });

  test('every ```yaml block in README.md validates as a full config', (t) => {
    const readme = join(root, 'README.md');
    if (!existsSync(readme)) {
      t.skip('README.md does not exist yet: nothing to check');
      return;
    }
    const text = readFileSync(readme, 'utf8');
    const blocks = [...text.matchAll(/^```yaml[ \t]*\r?\n([\s\S]*?)^```/gm)];
    assert.ok(blocks.length > 0, 'README.md has no ```yaml block: show at least one complete config');
    const failures = blocks.flatMap((block) => {
      const fenceLine = text.slice(0, block.index).split('\n').length;
      // Blank lines in front make the errors' line numbers those of README.md itself.
      const padded = '\n'.repeat(fenceLine) + block[1]!;
      try {
        parseConfigText(padded, 'README.md', documentationEnv, root);
        return [];
      } catch (error) {
        return [`the yaml block at README.md line ${fenceLine} is not a valid config:\n${(error as Error).message}`];
      }
    });
    assert.deepEqual(failures, []);
  });

  test('the README block "Every key at its default" shows every key that has a default, each at its default', () => {
    const text = readFileSync(join(root, 'README.md'), 'utf8');
    const at = text.indexOf('Every key at its default');
    assert.ok(at >= 0, 'README.md has the "Every key at its default" block');
    const block = /```yaml\n([\s\S]*?)```/.exec(text.slice(at))![1]!;
    // Values: the block parses to exactly the config of its four required route keys alone.
    const shown = parseConfigText(block, 'README.md', documentationEnv, root).config;
    const requiredOnly = parseConfigText(
      'routes:\n  - name: wiki\n    from: http://localhost:8080/\n    to: builtin:whoami\n    allow: ["*@example.com"]\n',
      'minimal.yaml',
      documentationEnv,
      root,
    ).config;
    assert.deepEqual(shown, requiredOnly, 'every value shown is the default');
    // Keys: every key of the editor schema that has a default is in the block.
    const schema = JSON.parse(readFileSync(join(root, 'config/gateway.schema.json'), 'utf8')) as SchemaNode;
    const missing: string[] = [];
    collectMissingKeys(schema, parseYaml(block) as unknown, '', missing);
    assert.deepEqual(missing, []);
  });
});

interface SchemaNode {
  readonly default?: unknown;
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
}

/** Paths of keys with a default that `value` (the block's YAML) leaves out. */
function collectMissingKeys(node: SchemaNode, value: unknown, path: string, missing: string[]): void {
  if (node.type === 'array' && node.items?.properties && Array.isArray(value)) {
    for (const item of value) collectMissingKeys(node.items, item, `${path}[]`, missing);
    return;
  }
  if (!node.properties || typeof value !== 'object' || value === null || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(node.properties)) {
    const childPath = path ? `${path}.${key}` : key;
    if (key in value) collectMissingKeys(child, (value as Record<string, unknown>)[key], childPath, missing);
    else if ('default' in child) missing.push(childPath);
  }
}
