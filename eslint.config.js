// ESLint: typescript-eslint's recommended rules, and the walls between the folders of src/
// (STYLE.md "Structure"): each folder names the folders it may import. A folder lower down
// never reaches into one above it — config/ imports only the leaf helpers, session/, proxy/
// and mail/ never import http/ — so the tree keeps telling a newcomer how a request flows.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** src/<folder> → the src/ folders it may import (besides itself). Top-level files import anything. */
const MAY_IMPORT = {
  lib: [],
  paths: [],
  log: [],
  metrics: [],
  config: ['lib', 'paths'],
  i18n: ['lib'],
  store: ['config', 'log', 'lib'],
  routes: ['config', 'paths', 'lib'],
  policy: ['config'],
  otp: ['config', 'store', 'lib'],
  session: ['config', 'store', 'lib'],
  invitations: ['config', 'log', 'lib'],
  mail: ['config', 'log', 'lib', 'i18n'],
  proxy: ['config', 'lib', 'paths', 'routes'],
  upstreams: ['lib'],
  assertion: ['config', 'store', 'log', 'lib'],
  http: ['lib', 'paths', 'log', 'metrics', 'config', 'i18n', 'store', 'routes', 'policy', 'otp', 'session', 'invitations', 'mail', 'proxy', 'assertion'],
  admin: ['lib', 'log', 'config', 'store', 'session', 'invitations', 'assertion'],
  cli: ['lib', 'log', 'config', 'store', 'session', 'invitations', 'mail', 'admin', 'assertion'],
  cluster: ['lib', 'log', 'config', 'store', 'session', 'invitations', 'admin', 'metrics', 'assertion'],
};
const FOLDERS = Object.keys(MAY_IMPORT);
// The top-level modules (gateway.ts, main.ts, cli.ts…) assemble the folders; only http/ reads
// the gateway state it builds.
const TOP_LEVEL = ['gateway', 'main', 'cli', 'run-cli', 'gateway-state'];

function wallsOf(folder) {
  const forbidden = FOLDERS.filter((other) => other !== folder && !MAY_IMPORT[folder].includes(other));
  const topLevel = TOP_LEVEL.filter((name) => !(folder === 'http' && name === 'gateway-state'));
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...forbidden.map((other) => ({
              group: [`../${other}/*`, `../../${other}/*`, `../../../${other}/*`],
              message: `src/${folder}/ may not import src/${other}/ (the walls in eslint.config.js, STYLE.md "Structure").`,
            })),
            {
              group: topLevel.flatMap((name) => [`../${name}.js`, `../../${name}.js`]),
              message: `src/${folder}/ may not import the modules that assemble the gateway.`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', '.scratch/**', 'config/**', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', URLSearchParams: 'readonly', fetch: 'readonly', performance: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', global: 'readonly', require: 'readonly', document: 'readonly', navigator: 'readonly', getComputedStyle: 'readonly' } },
    rules: {
      // No `any` at module boundaries: say `unknown` and narrow.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Control characters in regular expressions are the point of several security checks.
      'no-control-regex': 'off',
      // `while (performance.now() < until);` is how a test burns CPU on purpose.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  ...FOLDERS.map(wallsOf),
);
