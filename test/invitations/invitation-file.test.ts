/**
 * The invitations file format (SPEC section 2, `invitations.file`): strict like the config,
 * every problem reported at once with its file and line, and a lossless round trip through
 * `serializeInvitationFile`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvitationFileError,
  parseInvitationFile,
  serializeInvitationFile,
  type Invitation,
} from '../../src/invitations/invitation-file.js';

function errorsOf(text: string): readonly string[] {
  try {
    parseInvitationFile(text, 'guests.yaml');
  } catch (error) {
    assert.ok(error instanceof InvitationFileError, String(error));
    assert.equal(error.message, error.errors.join('\n'));
    return error.errors;
  }
  assert.fail('expected the file to be rejected');
}

describe('parseInvitationFile', () => {
  test('a valid file gives normalised invitations with dates and optional fields', () => {
    const invitations = parseInvitationFile(
      [
        '- email: " Guest@Partner.EXAMPLE "',
        '  routes: [wiki, docs, wiki]',
        '  expires: 2025-01-31T00:00:00Z',
        '  invited_by: ops@example.com',
        '  invited_at: 2025-01-01T09:30:00+01:00',
        '  note: Q1 audit',
        '- email: bob@bücher.example',
        '  routes: [wiki]',
        '- email: carol@x.example',
        '  routes: [docs]',
        '  expires: null',
      ].join('\n'),
      'guests.yaml',
    );
    assert.deepEqual(invitations, [
      {
        email: 'guest@partner.example',
        routes: ['wiki', 'docs'],
        expiresAt: new Date('2025-01-31T00:00:00Z'),
        invitedBy: 'ops@example.com',
        invitedAt: new Date('2025-01-01T08:30:00Z'),
        note: 'Q1 audit',
      },
      { email: 'bob@xn--bcher-kva.example', routes: ['wiki'], expiresAt: null },
      { email: 'carol@x.example', routes: ['docs'], expiresAt: null },
    ]);
  });

  for (const [name, text] of [
    ['an empty file', ''],
    ['a file with only comments', '# nobody yet\n'],
    ['an explicit null', 'null\n'],
    ['an empty list', '[]\n'],
  ] as const) {
    test(`${name} means no invitations`, () => {
      assert.deepEqual(parseInvitationFile(text, 'guests.yaml'), []);
    });
  }

  test('every problem is reported at once, each with its file, line and path, in line order', () => {
    const errors = errorsOf(
      [
        '- email: ok@example.com', // 1
        '  routes: []', // 2
        '  expire: 2025-01-31T00:00:00Z', // 3
        '- email: "bob@"', // 4
        '  routes: [wiki]', // 5
        '  expires: 2025-01-31', // 6
        '- email: carol@example.com', // 7
        '  invited_at: yesterday', // 8
        '  note: 5', // 9
        '- just a string', // 10
      ].join('\n'),
    );
    assert.deepEqual(errors, [
      'guests.yaml:2 [0].routes: must list at least one route name',
      'guests.yaml:3 [0].expire: unknown key "expire", did you mean "expires"?',
      'guests.yaml:4 [1].email: is not an email address: it does not end in a valid domain name (got "bob@")',
      'guests.yaml:6 [1].expires: must be an ISO 8601 date-time with a time zone, e.g. "2025-01-31T00:00:00Z" (got "2025-01-31")',
      'guests.yaml:7 [2].routes: is required',
      'guests.yaml:8 [2].invited_at: must be an ISO 8601 date-time with a time zone, e.g. "2025-01-31T00:00:00Z" (got "yesterday")',
      'guests.yaml:9 [2].note: must be a string (got 5)',
      'guests.yaml:10 [3]: must be a mapping (key: value pairs) (got "just a string")',
    ]);
  });

  test('the same address twice is an error, also when written differently', () => {
    const errors = errorsOf(
      ['- email: bob@example.com', '  routes: [wiki]', '- email: BOB@Example.com ', '  routes: [docs]'].join('\n'),
    );
    assert.deepEqual(errors, [
      'guests.yaml:3 [1].email: bob@example.com is already invited by entry [0] (line 1); merge the two entries',
    ]);
  });

  test('unknown keys are errors, so a typo cannot make an invitation last forever', () => {
    const errors = errorsOf(['- email: bob@example.com', '  routes: [wiki]', '  expiry: 2025-01-31T00:00:00Z', '  admin: true'].join('\n'));
    assert.equal(errors.length, 2);
    assert.match(errors[0]!, /^guests\.yaml:3 \[0\]\.expiry: unknown key "expiry"/);
    assert.match(errors[1]!, /^guests\.yaml:4 \[0\]\.admin: unknown key "admin"/);
  });

  for (const email of ['bob', 'bob@@example.com', 'bob smith@example.com', '"bob"@example.com', 'a@b.c, eve@evil.example']) {
    test(`a bad email address is an error: ${JSON.stringify(email)}`, () => {
      const errors = errorsOf(`- email: ${JSON.stringify(email)}\n  routes: [wiki]\n`);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^guests\.yaml:1 \[0\]\.email: is not an email address/);
    });
  }

  for (const expires of ['2025-13-01T00:00:00Z', '2025-01-31T00:00:00', 'tomorrow', '30d', '1735603200']) {
    test(`a bad date is an error: ${expires}`, () => {
      const errors = errorsOf(`- email: bob@example.com\n  routes: [wiki]\n  expires: ${expires}\n`);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^guests\.yaml:3 \[0\]\.expires: must be an ISO 8601 date-time/);
    });
  }

  test('a file that is not a list is an error', () => {
    assert.deepEqual(errorsOf('email: bob@example.com\n'), ['guests.yaml:1 (top level): must be a list']);
  });

  test('YAML syntax errors and duplicate keys are reported with their line', () => {
    const errors = errorsOf('- email: bob@example.com\n  routes: [wiki]\n  routes: [docs]\n');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^guests\.yaml:3 /);
    assert.match(errorsOf('- email: bob@example.com\n  routes: [wiki\n')[0]!, /^guests\.yaml:\d+ /);
  });
});

describe('serializeInvitationFile', () => {
  const invitations: Invitation[] = [
    {
      email: 'guest@partner.example',
      routes: ['wiki', 'odd, name'],
      expiresAt: new Date('2025-01-31T00:00:00Z'),
      invitedBy: 'ops@example.com',
      invitedAt: new Date('2025-01-01T09:30:00.123Z'),
      note: 'line one\nline two: with a colon # and a hash',
    },
    { email: 'bob@example.com', routes: ['docs'], expiresAt: null },
  ];

  test('what it writes parses back to the same invitations', () => {
    assert.deepEqual(parseInvitationFile(serializeInvitationFile(invitations), 'guests.yaml'), invitations);
  });

  test('it starts with a header comment and writes route lists on one line', () => {
    const text = serializeInvitationFile(invitations);
    assert.match(text, /^# Gatehouse invitations/);
    assert.match(text, /^ {2}routes: \[docs\]$/m);
    assert.match(text, /^ {2}expires: null$/m);
  });

  test('an empty list round-trips to no invitations', () => {
    assert.deepEqual(parseInvitationFile(serializeInvitationFile([]), 'guests.yaml'), []);
  });
});
