import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfigFile, loadConfigFile, parseConfigText } from '../../src/config/load-config.js';

/** Joins lines so that a test can count them: element i is line i + 1. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const MINIMAL = yaml(
  'routes:',
  '  - name: wiki',
  '    from: http://localhost:8080/',
  '    to: builtin:whoami',
  '    allow: ["*@example.com"]',
);

/** The error lines for `text`, failing the test when it is valid. */
function errorsOf(text: string, env: NodeJS.ProcessEnv = {}, baseDir?: string): readonly string[] {
  try {
    parseConfigText(text, 'gateway.yaml', env, baseDir);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.message, error.errors.join('\n'));
    return error.errors;
  }
  assert.fail('expected the config to be rejected');
}

describe('a valid config', () => {
  test('a minimal config loads with every default filled in', () => {
    const { config, file } = parseConfigText(MINIMAL, 'gateway.yaml', {});
    assert.equal(file, 'gateway.yaml');
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(config.admin, { listen: { host: '127.0.0.1', port: 9090 }, token: '' });
    assert.deepEqual(config.trust_proxy, []);
    assert.deepEqual(config.session.secret, []);
    assert.equal(config.session.lifetime, 24 * 3_600_000);
    assert.equal(config.session.idle_timeout, null);
    assert.deepEqual(config.session.cookie, { name: 'gatehouse', domain: '', secure: 'auto', same_site: 'lax' });
    assert.equal(config.session.store, 'memory');
    assert.equal(config.otp.digits, 8);
    assert.deepEqual(config.otp.max_failures_per_ip, { count: 20, windowMs: 86_400_000 });
    assert.equal(config.otp.ttl, 600_000);
    assert.deepEqual(config.otp.max_per_email, { count: 5, windowMs: 3_600_000 });
    assert.equal(config.mail.transport, 'log');
    const route = config.routes[0]!;
    assert.deepEqual(route.allow, [{ kind: 'domain', domain: 'example.com' }]);
    assert.equal(route.timeout, 60_000);
    assert.equal(route.websockets, true);
    assert.equal(route.max_session_age, null);
    assert.deepEqual(route.tls, { ca: '', insecure_skip_verify: false });
    assert.equal(route.from.origin, 'http://localhost:8080');
  });

  test('the returned config is deep-frozen', () => {
    const loaded = parseConfigText(MINIMAL, 'gateway.yaml', {});
    for (const value of [loaded, loaded.config, loaded.warnings, loaded.config.routes, loaded.config.routes[0]!.allow, loaded.config.routes[0]!.from, loaded.config.session.cookie]) {
      assert.ok(Object.isFrozen(value));
    }
    assert.throws(() => {
      (loaded.config.session.cookie as { name: string }).name = 'evil';
    }, TypeError);
  });
});

describe('each kind of error names the file, line and path', () => {
  const cases: { name: string; text: string; errors: string[] }[] = [
    {
      name: 'a malformed allow entry shows the offending value',
      text: MINIMAL.replace('"*@example.com"', '"bob@"'),
      errors: ['gateway.yaml:5 routes[0].allow[0]: must be an email address, *@domain, group:NAME, invited or "*" (got "bob@")'],
    },
    {
      name: 'a string where a number is expected says so',
      text: MINIMAL + yaml('otp:', '  digits: six'),
      errors: ['gateway.yaml:7 otp.digits: must be a number (got "six")'],
    },
    {
      name: 'a fraction where a whole number is expected says so',
      text: MINIMAL + yaml('otp:', '  max_attempts: 2.5'),
      errors: ['gateway.yaml:7 otp.max_attempts: must be a whole number (got 2.5)'],
    },
    {
      name: 'a number below the minimum names the minimum',
      text: MINIMAL + yaml('otp:', '  digits: 4'),
      errors: ['gateway.yaml:7 otp.digits: must be at least 6 (got 4)'],
    },
    {
      name: 'a number above the maximum names the maximum',
      text: MINIMAL + yaml('otp:', '  digits: 11'),
      errors: ['gateway.yaml:7 otp.digits: must be at most 10 (got 11)'],
    },
    {
      name: 'a non-boolean where a boolean is expected asks for true or false',
      text: MINIMAL + yaml('    websockets: "yes"'),
      errors: ['gateway.yaml:6 routes[0].websockets: must be true or false (got "yes")'],
    },
    {
      name: 'a value outside an enum lists the choices',
      text: MINIMAL + yaml('session:', '  cookie:', '    same_site: loose'),
      errors: ['gateway.yaml:8 session.cookie.same_site: must be one of lax, strict, none (got "loose")'],
    },
    {
      name: 'require names what it may be',
      text: MINIMAL + yaml('    require: webauthn'),
      errors: ['gateway.yaml:6 routes[0].require: must be one of code, passkey (got "webauthn")'],
    },
    {
      name: 'a value matching no branch of a union lists every branch',
      text: MINIMAL + yaml('session:', '  cookie:', '    secure: maybe'),
      errors: ['gateway.yaml:8 session.cookie.secure: must be "auto" or true or false (got "maybe")'],
    },
    {
      name: 'an error inside the union branch the user chose is reported at its own path',
      text: MINIMAL + yaml('session:', '  secret: "0123456789abcdef0123456789abcdef"', '  store:', '    redis:', '      url: 5'),
      errors: ['gateway.yaml:10 session.store.redis.url: must be a string (got 5)'],
    },
    {
      name: 'a number where a duration is expected asks for a duration',
      text: MINIMAL + yaml('    timeout: 60'),
      errors: ['gateway.yaml:6 routes[0].timeout: must be a duration like 90s, 10m, 24h or 7d (got 60)'],
    },
    {
      name: 'a missing required key is reported at its parent object',
      text: yaml('routes:', '  - name: wiki', '    to: builtin:whoami', '    allow: ["*@example.com"]'),
      errors: ['gateway.yaml:2 routes[0].from: is required'],
    },
    {
      name: 'a file without routes is reported at the top level',
      text: yaml('# no routes yet', 'listen: 0.0.0.0:8080'),
      errors: ['gateway.yaml:2 routes: is required'],
    },
    {
      name: 'an empty routes list must list a route',
      text: yaml('routes: []'),
      errors: ['gateway.yaml:1 routes: must list at least one route'],
    },
    {
      name: 'a key with no value shows null',
      text: yaml('routes:', '  - name: wiki', '    from: http://localhost:8080/', '    to: builtin:whoami', '    allow:'),
      errors: ['gateway.yaml:5 routes[0].allow: must be a list (got null)'],
    },
    {
      name: 'an unknown key close to a known one gets a hint',
      text: MINIMAL + yaml('    alow: ["bob@example.com"]'),
      errors: ['gateway.yaml:6 routes[0].alow: unknown key "alow", did you mean "allow"?'],
    },
    {
      name: 'an unknown key spelt with dashes is matched to its underscore form',
      text: MINIMAL + yaml('    strip-prefix: true'),
      errors: ['gateway.yaml:6 routes[0].strip-prefix: unknown key "strip-prefix", did you mean "strip_prefix"?'],
    },
    {
      name: 'an unknown key far from every known key gets no hint',
      text: yaml('colour: blue') + MINIMAL,
      errors: ['gateway.yaml:1 colour: unknown key "colour"'],
    },
    {
      name: 'an unknown key inside a union branch is found with its hint',
      text: MINIMAL + yaml('session:', '  secret: "0123456789abcdef0123456789abcdef"', '  store:', '    redis:', '      prefx: "gh:"'),
      errors: ['gateway.yaml:10 session.store.redis.prefx: unknown key "prefx", did you mean "prefix"?'],
    },
    {
      name: 'an invalid record key is reported on the key',
      text: MINIMAL + yaml('    headers:', '      X Remote User: "{email}"'),
      errors: ['gateway.yaml:7 routes[0].headers["X Remote User"]: key must be a valid HTTP header name (got "X Remote User")'],
    },
    {
      name: 'a cross-field rule reports the later duplicate',
      text: MINIMAL + yaml('  - name: wiki', '    from: http://other.localhost:8080/', '    to: builtin:whoami', '    allow: ["*@example.com"]'),
      errors: ['gateway.yaml:6 routes[1].name: duplicates routes[0].name (got "wiki")'],
    },
    {
      name: 'a YAML syntax error is reported with its line',
      text: yaml('routes:', '  - name: "wiki', '    from: x'),
      errors: ['gateway.yaml:4 YAML syntax error: Missing closing "quote'],
    },
    {
      name: 'a duplicate key is reported with its line',
      text: MINIMAL + yaml('    allow: ["*"]'),
      errors: ['gateway.yaml:6 duplicate key "allow": a key may appear only once in a mapping'],
    },
    {
      name: 'an empty file says it is empty',
      text: '# nothing here\n',
      errors: ['gateway.yaml:1 (top level): is empty: a config needs at least a routes list'],
    },
    {
      name: 'a list at the top level asks for a mapping',
      text: yaml('- name: wiki'),
      errors: ['gateway.yaml:1 (top level): must be a mapping (key: value pairs)'],
    },
  ];
  for (const { name, text, errors } of cases) {
    test(name, () => assert.deepEqual(errorsOf(text), errors));
  }

  test('every problem in a file is reported at once, sorted by line', () => {
    const text = yaml(
      'otp:',
      '  digits: 4',
      'routes:',
      '  - name: wiki',
      '    from: http://localhost:8080/',
      '    to: ftp://files',
      '    allow: ["bob@", "*@example.com", "alice@"]',
      '    websocket: true',
      'session:',
      '  cookie:',
      '    same_site: loose',
    );
    assert.deepEqual(errorsOf(text), [
      'gateway.yaml:2 otp.digits: must be at least 6 (got 4)',
      'gateway.yaml:6 routes[0].to: must be builtin:whoami or an http(s) URL like http://10.0.0.5:3000 (no query or credentials) (got "ftp://files")',
      'gateway.yaml:7 routes[0].allow[0]: must be an email address, *@domain, group:NAME, invited or "*" (got "bob@")',
      'gateway.yaml:7 routes[0].allow[2]: must be an email address, *@domain, group:NAME, invited or "*" (got "alice@")',
      'gateway.yaml:8 routes[0].websocket: unknown key "websocket", did you mean "websockets"?',
      'gateway.yaml:11 session.cookie.same_site: must be one of lax, strict, none (got "loose")',
    ]);
  });
});

describe('secrets never appear in error messages', () => {
  const PASSWORD = 'hunter2-Pa55word';
  const SHORT_SECRET = 's3cr3t-10c';
  const cases: { name: string; text: string; env?: NodeJS.ProcessEnv; secrets: string[]; errors: string[] }[] = [
    {
      name: 'a too-short session secret and a bad SMTP URL with a password are reported without their values',
      text:
        MINIMAL +
        yaml('session:', `  secret: ${SHORT_SECRET}`, 'mail:', '  transport: smtp', '  smtp:', `    url: smtp//bob:${PASSWORD}@mail.example.com:587`),
      secrets: [SHORT_SECRET, PASSWORD],
      errors: [
        'gateway.yaml:7 session.secret: must be at least 32 characters long (got a hidden value)',
        'gateway.yaml:11 mail.smtp.url: must be a URL like smtp://user:password@mail.example.com:587 (or smtps://) (got a hidden value)',
      ],
    },
    {
      name: 'a secret in a rotation list is hidden',
      text: MINIMAL + yaml('session:', '  secret:', `    - ${SHORT_SECRET}`),
      secrets: [SHORT_SECRET],
      errors: ['gateway.yaml:8 session.secret[0]: must be at least 32 characters long (got a hidden value)'],
    },
    {
      name: 'an SMTP password of the wrong type is hidden',
      text: MINIMAL + yaml('mail:', '  smtp:', '    host: mail.example.com', '    auth:', '      user: bob', '      pass: 1234567890'),
      secrets: ['1234567890'],
      errors: ['gateway.yaml:11 mail.smtp.auth.pass: must be a string (got a hidden value)'],
    },
    {
      name: 'an admin token of the wrong type is hidden',
      text: MINIMAL + yaml('admin:', '  token: 9876543210'),
      secrets: ['9876543210'],
      errors: ['gateway.yaml:7 admin.token: must be a string (got a hidden value)'],
    },
    {
      name: 'an upstream URL with credentials is hidden',
      text: MINIMAL.replace('builtin:whoami', `http://bob:${PASSWORD}@10.0.0.5:3000`),
      secrets: [PASSWORD],
      errors: [
        'gateway.yaml:4 routes[0].to: must be builtin:whoami or an http(s) URL like http://10.0.0.5:3000 (no query or credentials) (got a hidden value)',
      ],
    },
    {
      name: 'a value that came from a secret environment variable is hidden wherever it lands',
      text: MINIMAL + yaml('session:', '  cookie:', '    name: ${SESSION_TOKEN}'),
      env: { SESSION_TOKEN: `${PASSWORD}!` },
      secrets: [PASSWORD],
      errors: ['gateway.yaml:8 session.cookie.name: must be letters, digits, "_" or "-" (got a hidden value)'],
    },
    {
      name: 'a YAML syntax error does not quote the line holding a secret',
      text: MINIMAL + yaml('session:', `  secret: "${PASSWORD}`),
      secrets: [PASSWORD],
      errors: ['gateway.yaml:8 YAML syntax error: Missing closing "quote'],
    },
  ];
  for (const { name, text, env, secrets, errors } of cases) {
    test(name, () => {
      const reported = errorsOf(text, env);
      assert.deepEqual(reported, errors);
      for (const secret of secrets) assert.ok(!reported.join('\n').includes(secret), `${secret} leaked`);
    });
  }
});

describe('session.store.redis: sentinel, cluster, password, tls', () => {
  const withRedis = (...lines: string[]) => MINIMAL + yaml('session:', '  secret: "0123456789abcdef0123456789abcdef"', '  store:', '    redis:', ...lines.map((line) => `      ${line}`));
  const storeOf = (text: string) => {
    const store = parseConfigText(text, 'gateway.yaml', {}).config.session.store;
    assert.ok(typeof store === 'object');
    return store.redis;
  };
  test('a sentinel block loads its nodes as host and port; no default url is added', () => {
    const redis = storeOf(withRedis('sentinel:', '  name: gatehouse', '  nodes: ["s1.internal:26379", "10.0.0.2:26379", "[::1]:26380"]', '  password: sentinel-pass', 'password: data-pass'));
    assert.deepEqual(redis.sentinel, {
      name: 'gatehouse',
      nodes: [{ host: 's1.internal', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }],
      password: 'sentinel-pass',
    });
    assert.equal(redis.url, undefined);
    assert.equal(redis.password, 'data-pass');
  });
  test('a cluster block loads; without any, the url defaults to the local Redis', () => {
    assert.deepEqual(storeOf(withRedis('cluster: { nodes: ["127.0.0.1:7000"] }')).cluster, { nodes: [{ host: '127.0.0.1', port: 7000 }] });
    assert.equal(storeOf(withRedis('prefix: "x:"')).url, 'redis://127.0.0.1:6379');
  });
  test('naming two deployments is refused at the second one, with its line', () => {
    assert.deepEqual(errorsOf(withRedis('url: "redis://127.0.0.1:6379"', 'cluster: { nodes: ["127.0.0.1:7000"] }')), [
      'gateway.yaml:11 session.store.redis.cluster: cannot be combined with url: name one Redis deployment (url, sentinel or cluster)',
    ]);
  });
  test('a node that is not host:port is refused with its line', () => {
    assert.deepEqual(errorsOf(withRedis('sentinel:', '  name: gatehouse', '  nodes:', '    - "s1.internal:26379"', '    - "s2.internal"')), [
      'gateway.yaml:14 session.store.redis.sentinel.nodes[1]: must be host:port, e.g. redis-sentinel-1:26379 (got "s2.internal")',
    ]);
    assert.deepEqual(errorsOf(withRedis('cluster: { nodes: [] }')), ['gateway.yaml:10 session.store.redis.cluster.nodes: must list at least one host:port']);
  });
  test('a client certificate without its key, a missing TLS file, and tls with a redis:// url, are refused', () => {
    assert.deepEqual(errorsOf(withRedis('url: "rediss://cache:6380"', 'tls: { ca: "no-such-ca.pem" }')), [
      `gateway.yaml:11 session.store.redis.tls.ca: must be a readable file, but ${process.cwd()}/no-such-ca.pem does not exist (got "no-such-ca.pem")`,
    ]);
    assert.deepEqual(errorsOf(withRedis('url: "rediss://cache:6380"', 'tls: { cert: "/etc/passwd" }')), [
      'gateway.yaml:11 session.store.redis.tls.key: cert and key go together: a client certificate needs its private key',
    ]);
    assert.deepEqual(errorsOf(withRedis('url: "redis://cache:6379"', 'tls: {}')), ['gateway.yaml:10 session.store.redis.url: must be a rediss:// URL when tls is set (got "redis://cache:6379")']);
  });
  test('a wrong password is never shown in an error', () => {
    const reported = errorsOf(withRedis('password: 5'));
    assert.deepEqual(reported, ['gateway.yaml:10 session.store.redis.password: must be a string (got a hidden value)']);
  });
});

describe('session.store.redis.url', () => {
  const withRedis = (url: string) => MINIMAL + yaml('session:', '  secret: "0123456789abcdef0123456789abcdef"', '  store:', '    redis:', `      url: ${JSON.stringify(url)}`);
  test('a Sentinel or Cluster URL is refused by check, not found by serve at the first connection', () => {
    for (const url of ['redis+sentinel://127.0.0.1:26379/mymaster', 'redis-cluster://127.0.0.1:7000', 'http://127.0.0.1:6379', 'localhost:6379']) {
      assert.deepEqual(errorsOf(withRedis(url)), [`gateway.yaml:10 session.store.redis.url: must be a redis:// or rediss:// URL naming one Redis server (redis://host:6379/0); use sentinel or cluster for the others (got ${JSON.stringify(url)})`], url);
    }
  });
  test('a URL with a password is refused without showing it', () => {
    assert.deepEqual(errorsOf(withRedis('redis+sentinel://:hunter2@127.0.0.1:26379')), ['gateway.yaml:10 session.store.redis.url: must be a redis:// or rediss:// URL naming one Redis server (redis://host:6379/0); use sentinel or cluster for the others (got a hidden value)']);
  });
  test('redis:// and rediss:// URLs load', () => {
    for (const url of ['redis://127.0.0.1:6379', 'rediss://:pass@cache.internal:6380/2']) {
      const store = parseConfigText(withRedis(url), 'gateway.yaml', {}).config.session.store;
      assert.ok(typeof store === 'object' && store.redis.url === url);
    }
  });
});

describe('files named by the config', () => {
  const directory = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  writeFileSync(join(directory, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n');
  mkdirSync(join(directory, 'certs'));
  const httpsRoute = (ca: string) =>
    yaml(
      'routes:',
      '  - name: app',
      '    from: http://localhost:8080/',
      '    to: https://10.0.0.5:8443',
      '    allow: ["*@example.com"]',
      `    tls: { ca: ${ca} }`,
    );

  test('a readable CA file is returned as an absolute path, resolved against the config directory', () => {
    const { config } = parseConfigText(httpsRoute('ca.pem'), 'gateway.yaml', {}, directory);
    assert.equal(config.routes[0]!.tls.ca, join(directory, 'ca.pem'));
  });

  const failures = [
    { name: 'a missing route CA file is an error', ca: 'missing.pem', reason: `${join(directory, 'missing.pem')} does not exist` },
    { name: 'a directory as a route CA file is an error', ca: 'certs', reason: `${join(directory, 'certs')} is not a regular file` },
  ];
  for (const { name, ca, reason } of failures) {
    test(name, () => {
      assert.deepEqual(errorsOf(httpsRoute(ca), {}, directory), [
        `gateway.yaml:6 routes[0].tls.ca: must be a readable file, but ${reason} (got ${JSON.stringify(ca)})`,
      ]);
    });
  }

  test('a missing SMTP CA file is an error too, alongside schema errors', () => {
    const text = MINIMAL + yaml('otp:', '  digits: 3', 'mail:', '  smtp:', '    host: mail.example.com', '    tls:', '      ca: nope.pem');
    assert.deepEqual(errorsOf(text, {}, directory), [
      'gateway.yaml:7 otp.digits: must be at least 6 (got 3)',
      `gateway.yaml:12 mail.smtp.tls.ca: must be a readable file, but ${join(directory, 'nope.pem')} does not exist (got "nope.pem")`,
    ]);
  });

  describe('assertion.key_file', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicOnly = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(join(directory, 'good.pem'), p256 + p256);
    writeFileSync(join(directory, 'p384.pem'), p384);
    writeFileSync(join(directory, 'rsa.pem'), rsa);
    writeFileSync(join(directory, 'second-bad.pem'), p256 + rsa);
    writeFileSync(join(directory, 'public.pem'), publicOnly);
    writeFileSync(join(directory, 'text.pem'), 'not a key\n');
    const withKeyFile = (file: string) => MINIMAL + yaml('assertion:', `  key_file: ${file}`);

    test('P-256 keys in PEM are accepted, the path resolved against the config directory', () => {
      const { config } = parseConfigText(withKeyFile('good.pem'), 'gateway.yaml', {}, directory);
      assert.equal(config.assertion.key_file, join(directory, 'good.pem'));
    });

    const failures = [
      { file: 'missing.pem', reason: `must be a readable file, but ${join(directory, 'missing.pem')} does not exist (got "missing.pem")` },
      { file: 'text.pem', reason: `must hold EC P-256 private keys in PEM, but in ${join(directory, 'text.pem')} there is no PEM block (expected "-----BEGIN PRIVATE KEY-----"; make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)` },
      { file: 'p384.pem', reason: `must hold EC P-256 private keys in PEM, but in ${join(directory, 'p384.pem')} the PRIVATE KEY is an EC key on secp384r1; ES256 needs EC P-256 (prime256v1)` },
      { file: 'rsa.pem', reason: `must hold EC P-256 private keys in PEM, but in ${join(directory, 'rsa.pem')} the PRIVATE KEY is an RSA key; ES256 needs EC P-256 (prime256v1)` },
      { file: 'second-bad.pem', reason: `must hold EC P-256 private keys in PEM, but in ${join(directory, 'second-bad.pem')} block 2 (PRIVATE KEY) is an RSA key; ES256 needs EC P-256 (prime256v1)` },
      { file: 'public.pem', reason: `must hold EC P-256 private keys in PEM, but in ${join(directory, 'public.pem')} the PUBLIC KEY is not a private key` },
    ];
    for (const { file, reason } of failures) {
      test(`${file}: the error names the YAML line and what is wrong`, () => {
        assert.deepEqual(errorsOf(withKeyFile(file), {}, directory), [`gateway.yaml:7 assertion.key_file: ${reason}`]);
      });
    }
  });

  test('the invitations file is resolved against the config directory and need not exist yet', () => {
    const text = MINIMAL.replace('"*@example.com"', 'invited') + yaml('invitations:', '  file: guests.yaml');
    const { config } = parseConfigText(text, 'gateway.yaml', {}, directory);
    assert.equal(config.invitations.file, join(directory, 'guests.yaml'));
  });

  test('loadConfigFile resolves paths against the file and returns its absolute path', () => {
    const file = join(directory, 'gateway.yaml');
    writeFileSync(file, httpsRoute('ca.pem'));
    const loaded = loadConfigFile(file, {});
    assert.equal(loaded.file, file);
    assert.equal(loaded.config.routes[0]!.tls.ca, join(directory, 'ca.pem'));
    assert.ok(Object.isFrozen(loaded));
  });

  test('loadConfigFile names a missing file in its error', () => {
    const file = join(directory, 'absent.yaml');
    assert.throws(() => loadConfigFile(file, {}), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.errors, [`${file}: cannot read the config file: the file does not exist`]);
      return true;
    });
  });

  test('defaultConfigFile prefers GATEHOUSE_CONFIG, then gateway.yaml, then gateway.example.yaml', () => {
    const empty = mkdtempSync(join(tmpdir(), 'gatehouse-cwd-'));
    assert.equal(defaultConfigFile({ GATEHOUSE_CONFIG: 'conf/gw.yaml' }, directory), join(directory, 'conf/gw.yaml'));
    assert.equal(defaultConfigFile({}, directory), join(directory, 'gateway.yaml'));
    assert.equal(defaultConfigFile({}, empty), join(empty, 'gateway.example.yaml'));
  });
});

describe('warnings say the consequence', () => {
  const quiet = yaml('session:', '  secret: "0123456789abcdef0123456789abcdef"', 'mail:', '  transport: smtp', '  smtp:', '    url: smtp://mail.example.com:587');
  const cases: { name: string; text: string; warnings: string[] }[] = [
    { name: 'a safe config has no warnings', text: MINIMAL + quiet, warnings: [] },
    {
      name: 'allowing "*" warns that anyone with an inbox can sign in',
      text: MINIMAL.replace('"*@example.com"', '"*@example.com", "*"') + quiet,
      warnings: ['gateway.yaml:5 routes[0].allow[1]: "*" means anyone with an inbox can sign in to route "wiki"'],
    },
    {
      name: 'a group containing "*" warns on every route that uses it',
      text: MINIMAL.replace('"*@example.com"', '"group:everyone"') + yaml('groups:', '  everyone: ["*"]') + quiet,
      warnings: ['gateway.yaml:5 routes[0].allow[0]: group "everyone" contains "*", so anyone with an inbox can sign in to route "wiki"'],
    },
    {
      name: 'skipping upstream certificate checks warns of a man-in-the-middle',
      text: MINIMAL.replace('builtin:whoami', 'https://10.0.0.5') + yaml('    tls: { insecure_skip_verify: true }') + quiet,
      warnings: [
        'gateway.yaml:6 routes[0].tls.insecure_skip_verify: the upstream certificate of route "wiki" is not verified: a man-in-the-middle can read and change its traffic',
      ],
    },
    {
      name: 'require: passkey on plain http (not localhost) warns that nobody can pass: browsers offer passkeys only in a secure context',
      text: MINIMAL.replace('http://localhost:8080/', 'http://wiki.example.com/') + yaml('    require: passkey') + quiet,
      warnings: [
        'gateway.yaml:6 routes[0].require: is "passkey" on http://wiki.example.com: browsers use passkeys only on https:// (or localhost), so nobody can pass route "wiki"',
      ],
    },
    { name: 'require: passkey on https or localhost is quiet', text: MINIMAL + yaml('    require: passkey') + quiet, warnings: [] },
    {
      name: 'the log mail transport and a missing secret warn about development use and restarts',
      text: MINIMAL + yaml('mail:', '  transport: log'),
      warnings: [
        'gateway.yaml:1 session.secret: is not set, so a random secret is made at each start: sessions end on restart',
        'gateway.yaml:7 mail.transport: is "log": mails, sign-in codes included, are printed to the log; for development only, never in production',
      ],
    },
  ];
  for (const { name, text, warnings } of cases) {
    test(name, () => assert.deepEqual(parseConfigText(text, 'gateway.yaml', {}).warnings, warnings));
  }
});
