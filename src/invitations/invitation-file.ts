/**
 * The invitations file (`invitations.file` in gateway.yaml, SPEC section 2): a YAML list of
 * guests that `allow: invited` lets in, each for the routes it names and until it expires.
 *
 * ```yaml
 * - email: guest@partner.example
 *   routes: [wiki]
 *   expires: 2025-01-31T00:00:00Z   # null or absent: never
 *   invited_by: ops@example.com
 *   invited_at: 2025-01-01T09:30:00Z
 *   note: Q1 audit
 * ```
 *
 * Parsing is as strict as the config itself (unknown keys are errors: a typo like `expire:`
 * must not silently make an invitation last forever) and reports every problem at once as
 * `FILE:LINE PATH: message`, like the config loader.
 */
import { z } from 'zod';
import { Document, LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import { normalizeEmailAddress } from '../config/values.js';
import { formatConfigProblem, sortByLine, type ConfigProblem } from '../config/format-config-errors.js';
import { describeSchemaIssues, readableZodErrorMap } from '../config/describe-schema-issues.js';
import { YamlLocator } from '../config/yaml-locations.js';

/** One guest's invitation, as the gateway uses it. */
export interface Invitation {
  /** Normalised address (trimmed, lower case, IDN domain in ASCII). */
  readonly email: string;
  /** Names of the routes the guest may use; never empty. */
  readonly routes: readonly string[];
  /** When the invitation stops working; `null` means never. */
  readonly expiresAt: Date | null;
  /** Who invited the guest (an operator's address or name), when known. */
  readonly invitedBy?: string;
  /** When the invitation was made, when known. */
  readonly invitedAt?: Date;
  /** Free text for the people reviewing access. */
  readonly note?: string;
}

/** Thrown when the invitations file is not valid; `errors` holds one located line per problem. */
export class InvitationFileError extends Error {
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'InvitationFileError';
    this.errors = Object.freeze([...errors]);
  }
}

const ISO_DATE_TIME_MESSAGE = 'must be an ISO 8601 date-time with a time zone, e.g. "2025-01-31T00:00:00Z"';

// An explicit offset (or `Z`) is required: a bare local time would expire at a different
// instant on every server depending on its time zone.
const isoDateTime = z.iso
  .datetime({ offset: true, error: ISO_DATE_TIME_MESSAGE })
  .transform((text) => new Date(text));

const emailAddress = z.string().transform((text, context) => {
  const normalized = normalizeEmailAddress(text);
  if (normalized.ok) return normalized.email;
  context.addIssue({ code: 'custom', message: `is not an email address: it ${normalized.reason}`, input: text });
  return z.NEVER;
});

const routeName = z.string().trim().min(1, 'must not be empty');

const invitationEntrySchema = z.strictObject({
  email: emailAddress,
  routes: z.array(routeName).min(1, 'must list at least one route name'),
  expires: isoDateTime.nullable().optional(),
  invited_by: z.string().optional(),
  invited_at: isoDateTime.optional(),
  note: z.string().optional(),
});

const invitationFileSchema = z.array(invitationEntrySchema);

/**
 * Parses and validates the text of an invitations file. Empty text (or a file holding only
 * comments or `null`) means no invitations. `fileLabel` names the file in messages.
 *
 * Throws `InvitationFileError` listing every problem: YAML syntax, unknown keys, bad emails,
 * bad dates, empty route lists and the same address listed twice.
 */
export function parseInvitationFile(text: string, fileLabel: string): Invitation[] {
  const lineCounter = new LineCounter();
  // prettyErrors off: keep messages to one line each, like the config loader's.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(document, lineCounter);
  if (document.errors.length > 0) {
    throw new InvitationFileError(
      document.errors.map((error) => `${fileLabel}:${locator.lineOfOffset(error.pos[0])} ${error.message.split('\n')[0]}`),
    );
  }

  let input: unknown;
  try {
    input = document.toJS();
  } catch (error) {
    // Unknown aliases and alias bombs surface only here.
    throw new InvitationFileError([`${fileLabel}:1 ${(error as Error).message}`]);
  }
  if (input === null || input === undefined) return [];

  const problems: ConfigProblem[] = [];
  const parsed = invitationFileSchema.safeParse(input, { error: readableZodErrorMap });
  if (!parsed.success) {
    problems.push(...describeSchemaIssues(parsed.error.issues, { schema: invitationFileSchema, input, locator }));
  }
  problems.push(...findDuplicateEmails(input, locator));
  if (problems.length > 0 || !parsed.success) {
    throw new InvitationFileError(sortByLine(problems).map((problem) => formatConfigProblem(fileLabel, problem)));
  }

  return parsed.data.map((entry) => ({
    email: entry.email,
    routes: [...new Set(entry.routes)],
    expiresAt: entry.expires ?? null,
    ...(entry.invited_by !== undefined && { invitedBy: entry.invited_by }),
    ...(entry.invited_at !== undefined && { invitedAt: entry.invited_at }),
    ...(entry.note !== undefined && { note: entry.note }),
  }));
}

/**
 * One problem per repeated address (after normalisation, so `Bob@X.org` and `bob@x.org` are
 * the same guest). Two entries for one guest would make it unclear which routes and expiry
 * apply, and an uninvite that removes one would silently leave the other in force.
 */
function findDuplicateEmails(input: unknown, locator: YamlLocator): ConfigProblem[] {
  if (!Array.isArray(input)) return [];
  const firstIndexByEmail = new Map<string, number>();
  const problems: ConfigProblem[] = [];
  input.forEach((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object') return;
    const raw = (entry as Record<string, unknown>).email;
    if (typeof raw !== 'string') return;
    const normalized = normalizeEmailAddress(raw);
    if (!normalized.ok) return;
    const first = firstIndexByEmail.get(normalized.email);
    if (first === undefined) {
      firstIndexByEmail.set(normalized.email, index);
      return;
    }
    const path = [index, 'email'];
    problems.push({
      path,
      line: locator.lineOfValue(path),
      message: `${normalized.email} is already invited by entry [${first}] (line ${locator.lineOfValue([first, 'email'])}); merge the two entries`,
    });
  });
  return problems;
}

const FILE_HEADER = [
  ' Gatehouse invitations: guests that routes with `allow: [invited]` let in.',
  ' Written by `gatehouse invite` / `gatehouse uninvite`; hand edits are fine, the gateway',
  ' reloads this file when it changes. expires: ISO 8601 date-time, or null for never.',
].join('\n');

/** Writes invitations as the YAML that `parseInvitationFile` reads, with a short header comment. */
export function serializeInvitationFile(invitations: readonly Invitation[]): string {
  const entries = invitations.map((invitation) => ({
    email: invitation.email,
    routes: [...invitation.routes],
    expires: invitation.expiresAt ? invitation.expiresAt.toISOString() : null,
    ...(invitation.invitedBy !== undefined && { invited_by: invitation.invitedBy }),
    ...(invitation.invitedAt !== undefined && { invited_at: invitation.invitedAt.toISOString() }),
    ...(invitation.note !== undefined && { note: invitation.note }),
  }));
  const document = new Document(entries);
  document.commentBefore = FILE_HEADER;
  // Route lists on one line (`routes: [wiki, docs]`) keep an entry short and easy to scan.
  if (isSeq(document.contents)) {
    for (const item of document.contents.items) {
      const routes = isMap(item) ? item.get('routes', true) : undefined;
      if (isSeq(routes)) routes.flow = true;
    }
  }
  return document.toString({ lineWidth: 0, flowCollectionPadding: false });
}
