/**
 * Who may add and remove passkeys: the inbox alone (a code session) adds the first passkey
 * within 10 minutes of the code; after that, only a session that used a passkey may add or
 * remove one. The attack each row stops is named.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADD_WITHIN_MS, mayAddPasskey, mayRemovePasskey } from '../../src/http/passkeys/passkey-rights.js';
import { MAX_PASSKEYS_PER_ADDRESS } from '../../src/passkeys/passkey-store.js';

const NOW = 1_800_000_000_000;
const code = (minutesAgo: number) => ({ amr: ['otp'], signedInAt: NOW - minutesAgo * 60_000 });
const steppedUp = (minutesAgo: number) => ({ amr: ['otp', 'passkey'], signedInAt: NOW - minutesAgo * 60_000 });
const passkeyOnly = { amr: ['passkey'], signedInAt: NOW };

describe('passkey rights', () => {
  const rows: ReadonlyArray<[string, { amr: string[]; signedInAt: number }, number, ReturnType<typeof mayAddPasskey>]> = [
    ['a fresh code session adds the first passkey', code(2), 0, 'yes'],
    ['a code session at exactly 10 minutes still may', { amr: ['otp'], signedInAt: NOW - ADD_WITHIN_MS }, 0, 'yes'],
    ['an old code session may not (a session cookie taken from a browser hours later)', code(11), 0, 'fresh_code_needed'],
    ['a code session may not add a second one (whoever reads the inbox adding their own)', code(1), 1, 'passkey_needed'],
    ['a fresh code session stepped up with a passkey adds another', steppedUp(3), 1, 'yes'],
    ['a passkey session without a fresh code may not', passkeyOnly, 1, 'fresh_code_needed'],
    ['nobody adds beyond the limit', steppedUp(1), MAX_PASSKEYS_PER_ADDRESS, 'too_many'],
  ];
  for (const [what, session, count, expected] of rows) {
    test(what, () => assert.equal(mayAddPasskey(session, count, NOW), expected));
  }

  test('only a session that used a passkey removes one (remove, then add one\'s own as the "first")', () => {
    assert.equal(mayRemovePasskey(code(0)), false);
    assert.equal(mayRemovePasskey(steppedUp(60)), true);
    assert.equal(mayRemovePasskey(passkeyOnly), true);
  });
});
