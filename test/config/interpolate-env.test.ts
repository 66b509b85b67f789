import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseConfigText, type LoadedConfig } from '../../src/config/load-config.js';

const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** A one-route config; `extra` lines follow, starting at line 6. */
const withRoute = (allow: string, ...extra: string[]) =>
  yaml('routes:', '  - name: wiki', '    from: http://localhost:8080/', '    to: builtin:whoami', `    allow: [${allow}]`, ...extra);

const load = (text: string, env: NodeJS.ProcessEnv): LoadedConfig => parseConfigText(text, 'gateway.yaml', env);

function errorsOf(text: string, env: NodeJS.ProcessEnv): readonly string[] {
  try {
    load(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.errors;
  }
  assert.fail('expected the config to be rejected');
}

describe('${NAME} and ${NAME:-default} in string values', () => {
  const cases: {
    name: string;
    text: string;
    env: NodeJS.ProcessEnv;
    check: (loaded: LoadedConfig) => unknown;
    expected: unknown;
  }[] = [
    {
      name: 'a set variable is replaced',
      text: withRoute('"${GUEST}"'),
      env: { GUEST: 'bob@example.com' },
      check: ({ config }) => config.routes[0]!.allow,
      expected: [{ kind: 'email', email: 'bob@example.com' }],
    },
    {
      name: 'an unset variable takes its default',
      text: withRoute('"${GUEST:-alice@example.com}"'),
      env: {},
      check: ({ config }) => config.routes[0]!.allow,
      expected: [{ kind: 'email', email: 'alice@example.com' }],
    },
    {
      name: 'an empty variable takes its default, as in the shell',
      text: withRoute('"${GUEST:-alice@example.com}"'),
      env: { GUEST: '' },
      check: ({ config }) => config.routes[0]!.allow,
      expected: [{ kind: 'email', email: 'alice@example.com' }],
    },
    {
      name: 'a set variable wins over its default',
      text: withRoute('"${GUEST:-alice@example.com}"'),
      env: { GUEST: 'bob@example.com' },
      check: ({ config }) => config.routes[0]!.allow,
      expected: [{ kind: 'email', email: 'bob@example.com' }],
    },
    {
      name: 'variables inside a longer string are all replaced',
      text: withRoute('"*@example.com"').replace('http://localhost:8080/', 'http://${HOST:-localhost}:${PORT}/app'),
      env: { PORT: '8081' },
      check: ({ config }) => config.routes[0]!.from,
      expected: { protocol: 'http:', hostname: 'localhost', port: 8081, pathPrefix: '/app', origin: 'http://localhost:8081' },
    },
    {
      name: 'a plain scalar that becomes an integer is a number',
      text: withRoute('"*@example.com"', 'otp:', '  digits: ${OTP_DIGITS:-6}', '  max_attempts: ${OTP_ATTEMPTS}'),
      env: { OTP_ATTEMPTS: '3' },
      check: ({ config }) => [config.otp.digits, config.otp.max_attempts],
      expected: [6, 3],
    },
    {
      name: 'a plain scalar that becomes true or false is a boolean',
      text: withRoute('"*@example.com"', '    websockets: ${WEBSOCKETS:-false}', '    strip_prefix: ${STRIP}'),
      env: { STRIP: 'true' },
      check: ({ config }) => [config.routes[0]!.websockets, config.routes[0]!.strip_prefix],
      expected: [false, true],
    },
    {
      name: 'a plain scalar that becomes other text stays a string',
      text: withRoute('"*@example.com"', 'listen: ${LISTEN:-127.0.0.1:8080}'),
      env: {},
      check: ({ config }) => config.listen,
      expected: { host: '127.0.0.1', port: 8080 },
    },
    {
      name: 'a variable value containing ${ is used literally',
      text: withRoute('"*@example.com"', 'branding:', '  title: ${TITLE}'),
      env: { TITLE: 'Costs ${5}' },
      check: ({ config }) => config.branding.title,
      expected: 'Costs ${5}',
    },
  ];
  for (const { name, text, env, check, expected } of cases) {
    test(name, () => assert.deepEqual(check(load(text, env)), expected));
  }

  const failures: { name: string; text: string; env: NodeJS.ProcessEnv; errors: string[] }[] = [
    {
      name: 'a missing variable without default is an error naming the path and line',
      text: withRoute('"*@example.com"', 'session:', '  secret: ${GATEHOUSE_SECRET}'),
      env: {},
      errors: [
        'gateway.yaml:7 session.secret: uses the environment variable GATEHOUSE_SECRET, which is not set (give a default with ${GATEHOUSE_SECRET:-value})',
      ],
    },
    {
      name: 'each missing variable in one value is reported',
      text: withRoute('"${LOCAL}@${DOMAIN}"'),
      env: {},
      errors: [
        'gateway.yaml:5 routes[0].allow[0]: uses the environment variable LOCAL, which is not set (give a default with ${LOCAL:-value})',
        'gateway.yaml:5 routes[0].allow[0]: uses the environment variable DOMAIN, which is not set (give a default with ${DOMAIN:-value})',
      ],
    },
    {
      name: 'a quoted scalar stays a string even when it looks like a number',
      text: withRoute('"*@example.com"', 'otp:', '  digits: "${OTP_DIGITS:-6}"'),
      env: {},
      errors: ['gateway.yaml:7 otp.digits: must be a number (got "6")'],
    },
    {
      name: 'a malformed reference is an error rather than literal text',
      text: withRoute('"*@example.com"', 'session:', '  secret: ${GATEHOUSE_SECRET-fallback-that-is-long-enough-to-pass}'),
      env: {},
      errors: ['gateway.yaml:7 session.secret: has a malformed ${...} reference: write ${NAME} or ${NAME:-default}'],
    },
    {
      name: 'keys are not interpolated',
      text: withRoute('"*@example.com"', '${KEY}: 1'),
      env: { KEY: 'listen' },
      errors: ['gateway.yaml:6 ["${KEY}"]: unknown key "${KEY}"'],
    },
  ];
  for (const { name, text, env, errors } of failures) {
    test(name, () => assert.deepEqual(errorsOf(text, env), errors));
  }
});
