import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayConfigSchema } from '../../src/config/schema.js';
import { normalizeEmailAddress } from '../../src/config/values.js';
import { evaluateRouteAccess, mayUseSomeRoute } from '../../src/policy/access-policy.js';

const config = gatewayConfigSchema.parse({
  groups: { partners: ['*@Partner.Example', 'alice@gmail.com'], everyone: ['*'] },
  routes: [
    { name: 'wiki', from: 'http://wiki.test/', to: 'builtin:whoami', allow: ['Bob@Example.com', '*@corp.example', 'group:partners'] },
    { name: 'open', from: 'http://open.test/', to: 'builtin:whoami', allow: ['group:everyone'] },
    { name: 'idn', from: 'http://idn.test/', to: 'builtin:whoami', allow: ['*@bücher.example'] },
  ],
});
const [wiki, open, idn] = config.routes as [typeof config.routes[0], typeof config.routes[0], typeof config.routes[0]];

describe('evaluateRouteAccess', () => {
  const cases: Array<[string, string, boolean, string[]]> = [
    ['an exact address, compared case-insensitively', 'bob@example.com', true, []],
    ['another address at the same domain', 'carol@example.com', false, []],
    ['any address at an allowed domain', 'x@corp.example', true, []],
    ['a subdomain of an allowed domain (not allowed: *@domain is that domain exactly)', 'x@eu.corp.example', false, []],
    ['a domain that merely ends with the allowed one', 'x@evilcorp.example', false, []],
    ['a group member by domain, with the group named', 'dana@partner.example', true, ['partners']],
    ['a group member by address', 'alice@gmail.com', true, ['partners']],
    ['a stranger', 'mallory@evil.test', false, []],
  ];
  for (const [name, email, allowed, groups] of cases) {
    test(`${name}: ${email}`, () => {
      assert.deepEqual(evaluateRouteAccess(email, wiki, config.groups), { allowed, groups });
    });
  }

  test('a group containing "*" admits anyone who proved an inbox', () => {
    assert.deepEqual(evaluateRouteAccess('anyone@anywhere.test', open, config.groups), { allowed: true, groups: ['everyone'] });
  });

  test('IDN domains are compared in their ASCII form', () => {
    const normalized = normalizeEmailAddress('Guest@Bücher.Example');
    assert.deepEqual(normalized, { ok: true, email: 'guest@xn--bcher-kva.example' });
    assert.equal(evaluateRouteAccess(normalized.ok ? normalized.email : '', idn, config.groups).allowed, true);
  });

  test('mayUseSomeRoute is true when any route admits the address', () => {
    assert.equal(mayUseSomeRoute('x@corp.example', config), true);
    assert.equal(mayUseSomeRoute('someone@nowhere.test', config), true, 'the open route admits anyone');
  });
});

describe('normalizeEmailAddress', () => {
  const bad: Array<[string, RegExp]> = [
    ['bob@example.com\r\nBcc: x@y.z', /control character/],
    ['bob @example.com', /whitespace/],
    ['bob@@example.com', /exactly one @/],
    ['"bob"@example.com', /local part/],
    ['bob(c)@example.com', /local part/],
    ['bob,eve@example.com', /local part/],
    ['bob@localhost', /domain/],
    ['bob@-x.example', /domain/],
    [`${'a'.repeat(65)}@example.com`, /local part/],
    [`a@${'b'.repeat(250)}.com`, /254|domain/],
  ];
  for (const [input, reason] of bad) {
    test(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
      const result = normalizeEmailAddress(input);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.reason, reason);
    });
  }

  test('trims and lower-cases', () => {
    assert.deepEqual(normalizeEmailAddress('  Bob.Smith+wiki@Example.COM '), { ok: true, email: 'bob.smith+wiki@example.com' });
  });
});
