/**
 * The example config and the README's YAML are what newcomers copy; they are validated
 * against the schema here so they cannot rot.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
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
});
