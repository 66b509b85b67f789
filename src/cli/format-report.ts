/**
 * `gatehouse report` output: the access review as a table, CSV or JSON. Guests who have not
 * signed in for `inactiveDays` (or never) are flagged, so a reviewer sees whom to uninvite.
 */
import type { AccessReviewRow } from '../admin/admin-api.js';

export type ReportFormat = 'table' | 'csv' | 'json';

export interface ReportRow extends AccessReviewRow {
  readonly inactive: boolean;
}

/** Adds the inactivity flag: no sign-in within `inactiveDays` of `now`. */
export function flagInactiveGuests(rows: readonly AccessReviewRow[], inactiveDays: number, now: number): ReportRow[] {
  const cutoff = now - inactiveDays * 86_400_000;
  return rows.map((row) => ({ ...row, inactive: row.lastSignIn === null || Date.parse(row.lastSignIn) < cutoff }));
}

// Control characters from stored values must not drive the operator's terminal.
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

function requestsText(requests: Readonly<Record<string, number>>): string {
  return Object.entries(requests).map(([route, count]) => `${route}:${count}`).join(' ');
}

function csvCell(value: string): string {
  // Formula injection: a cell starting with = + - @ would run in a spreadsheet.
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function formatReport(rows: readonly ReportRow[], format: ReportFormat, days: number): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const header = ['email', 'invitation', 'invited_routes', 'expires', 'invited_by', 'last_sign_in', 'last_request', `requests_${days}d`, 'inactive'];
  const lines = rows.map((row) => [
    row.email,
    row.invitation,
    row.invitedRoutes.join(' '),
    row.invitationExpires ?? '',
    row.invitedBy ?? '',
    row.lastSignIn ?? 'never',
    row.lastRequest ?? 'never',
    requestsText(row.requests),
    row.inactive ? 'yes' : '',
  ]);
  if (format === 'csv') return `${[header, ...lines].map((line) => line.map(csvCell).join(',')).join('\n')}\n`;
  if (rows.length === 0) return 'No guests.\n';
  const cells = [header, ...lines].map((line) => line.map(printable));
  const widths = header.map((_title, index) => Math.max(...cells.map((line) => line[index]!.length)));
  return `${cells.map((line) => line.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd()).join('\n')}\n`;
}
