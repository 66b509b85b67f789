/**
 * Output of `gatehouse sessions` (a plain text table for people, JSON for scripts) and of
 * `gatehouse keys`.
 */
import type { SessionSummary } from '../session/session-directory.js';
import type { KeysOverview } from '../assertion/assertion-keys.js';
import type { PasskeySummary } from '../admin/admin-api.js';

const USER_AGENT_WIDTH = 40;

/**
 * The value with control characters replaced. User agents and the like come from guests'
 * browsers: printed raw, an escape sequence in one could rewrite the operator's terminal.
 */
function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function truncate(value: string, width: number): string {
  return value.length <= width ? value : `${value.slice(0, width - 1)}…`;
}

/** `2024-05-01 12:34:56Z` from an ISO string; the input as is when it is not a date. */
function formatTime(isoTime: string): string {
  const ms = Date.parse(isoTime);
  if (!Number.isFinite(ms)) return isoTime;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Columns padded to their widest cell, two spaces apart, the last one unpadded; ends with a newline. */
function formatColumns(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/**
 * The sessions as a table with the columns EMAIL, CREATED, LAST SEEN, CLIENT, USER AGENT, ID,
 * padded with spaces, one line per session, ending with a newline. "No sessions." when empty.
 */
export function formatSessionsTable(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'No sessions.\n';
  const header = ['EMAIL', 'CREATED', 'LAST SEEN', 'CLIENT', 'USER AGENT', 'ID'];
  const rows = sessions.map((session) => [
    printable(session.email),
    formatTime(session.created),
    formatTime(session.lastSeen),
    printable(session.clientAddress),
    truncate(printable(session.userAgent), USER_AGENT_WIDTH),
    printable(session.id),
  ]);
  return formatColumns(header, rows);
}

/** The sessions as pretty-printed JSON (an array), ending with a newline. */
export function formatSessionsJson(sessions: readonly SessionSummary[]): string {
  return `${JSON.stringify(sessions, null, 2)}\n`;
}

/** The assertion keys as a table: KID, STATE, CREATED, PUBLISHED UNTIL, and where they come from. */
export function formatKeysTable(overview: KeysOverview): string {
  const when = (ms: number | undefined) => (ms === undefined ? '-' : formatTime(new Date(ms).toISOString()));
  const rows = overview.keys.map((key) => [printable(key.kid), key.state, when(key.createdAt), key.publishedUntil === undefined ? '-' : when(key.publishedUntil)]);
  const header = ['KID', 'STATE', 'CREATED', 'PUBLISHED UNTIL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const lines = [header, ...rows].map((cells) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  return `${lines.join('\n')}\nkeys from ${printable(overview.source)}\n`;
}

/** `gatehouse passkeys`: EMAIL, NAME, HOST, CREATED, LAST USED, ID; "No passkeys." when empty. */
export function formatPasskeysTable(passkeys: readonly PasskeySummary[]): string {
  if (passkeys.length === 0) return 'No passkeys.\n';
  const header = ['EMAIL', 'NAME', 'HOST', 'CREATED', 'LAST USED', 'ID'];
  const rows = passkeys.map((passkey) => [
    printable(passkey.email),
    truncate(printable(passkey.name), 30),
    printable(passkey.host),
    formatTime(passkey.created),
    passkey.lastUsed === null ? '-' : formatTime(passkey.lastUsed),
    printable(passkey.id),
  ]);
  return formatColumns(header, rows);
}
