import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { flagInactiveGuests, formatReport } from '../../src/cli/format-report.js';
import type { AccessReviewRow } from '../../src/admin/admin-api.js';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const row = (email: string, lastSignIn: string | null, extra: Partial<AccessReviewRow> = {}): AccessReviewRow => ({
  email,
  invitation: 'active',
  invitedRoutes: ['wiki'],
  invitationExpires: null,
  invitedBy: 'ops@corp.test',
  lastSignIn,
  lastRequest: lastSignIn,
  requests: { wiki: 3 },
  ...extra,
});

describe('gatehouse report formatting', () => {
  test('guests who never signed in, or not within --inactive days, are flagged', () => {
    const rows = flagInactiveGuests(
      [row('recent@x.test', '2026-11-20T00:00:00Z'), row('old@x.test', '2026-09-01T00:00:00Z'), row('never@x.test', null)],
      30,
      NOW,
    );
    assert.deepEqual(rows.map((r) => [r.email, r.inactive]), [['recent@x.test', false], ['old@x.test', true], ['never@x.test', true]]);
  });

  test('CSV cells that a spreadsheet would run as a formula are defused, and commas and quotes are quoted', () => {
    const rows = flagInactiveGuests([row('a@x.test', null, { invitedBy: '=HYPERLINK("http://evil.test")' }), row('b@x.test', null, { invitedBy: 'Smith, "J"' })], 30, NOW);
    const csv = formatReport(rows, 'csv', 30);
    assert.match(csv, /,"'=HYPERLINK\(""http:\/\/evil\.test""\)",/);
    assert.match(csv, /,"Smith, ""J""",/);
    assert.doesNotMatch(csv, /,=HYPERLINK/);
  });

  test('the table never passes control characters to the terminal', () => {
    const table = formatReport(flagInactiveGuests([row('a@x.test', null, { invitedBy: 'ops\u001b[2J' })], 30, NOW), 'table', 30);
    assert.doesNotMatch(table, /\u001b/);
    assert.match(table, /ops\?\[2J/);
  });

  test('JSON keeps every field', () => {
    const [parsed] = JSON.parse(formatReport(flagInactiveGuests([row('a@x.test', null)], 30, NOW), 'json', 30)) as Array<Record<string, unknown>>;
    assert.equal(parsed?.email, 'a@x.test');
    assert.equal(parsed?.inactive, true);
    assert.deepEqual(parsed?.requests, { wiki: 3 });
  });
});
