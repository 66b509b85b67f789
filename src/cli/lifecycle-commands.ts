/**
 * The guest lifecycle commands (SPEC section 1): `invite`, `uninvite`, `sessions`, `revoke`.
 * They read the same config file as the gateway to find the invitations file and the admin
 * API. Human output goes to stdout; audit events (`invite.created`, `invite.removed`,
 * `session.revoked`) go to stderr as JSON lines naming who did it.
 */
import { pino } from 'pino';
import { appNameOf, type GatewayConfig } from '../config/schema.js';
import { normalizeEmailAddress, parseDurationMs } from '../config/values.js';
import { addOrUpdateInvitation, removeInvitation } from '../invitations/invitation-store.js';
import { createNotifier } from '../mail/create-notifier.js';
import { createAdminClient, AdminClientError } from './admin-client.js';
import { formatKeysTable, formatPasskeysTable, formatSessionsJson, formatSessionsTable } from './format-sessions.js';
import { flagInactiveGuests, formatReport } from './format-report.js';

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

export interface LifecycleOptions {
  readonly route?: string;
  readonly expires?: string;
  readonly note?: string;
  readonly by?: string;
  readonly email?: string;
  readonly session?: string;
  readonly all?: boolean;
  readonly json?: boolean;
  readonly format?: string;
  readonly days?: string;
  readonly inactive?: string;
  readonly id?: string;
}

type Output = (text: string) => void;

function auditLogger() {
  return pino({ base: { service: 'gatehouse', pid: process.pid }, formatters: { level: (label) => ({ level: label }) } }, pino.destination({ dest: 2, sync: true }));
}

function whoIsActing(options: LifecycleOptions, env: NodeJS.ProcessEnv): string {
  return options.by ?? env.USER ?? env.LOGNAME ?? 'cli';
}

function normalizedEmail(input: string | undefined): string {
  if (!input) throw new UsageError('an email address is required');
  const result = normalizeEmailAddress(input);
  if (!result.ok) throw new UsageError(`"${input}" ${result.reason}`);
  return result.email;
}

/** The admin API client for this config, or an explanation of why there is none. */
export function adminClientFor(config: GatewayConfig): ReturnType<typeof createAdminClient> {
  const listen = config.admin.listen;
  if (!listen) throw new Error('admin.listen is "off" in the config, so the admin API cannot be reached');
  if (!config.admin.token) throw new Error('admin.token is not set in the config, so the admin API is disabled');
  // A wildcard listen address is reached over loopback.
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return createAdminClient({ baseUrl: `http://${hostPart}:${listen.port}`, token: config.admin.token });
}

/** `gatehouse invite EMAIL --route NAME [--expires 30d] [--note TEXT]`. */
export async function runInvite(config: GatewayConfig, emailArg: string | undefined, options: LifecycleOptions, env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const email = normalizedEmail(emailArg);
  if (!options.route) throw new UsageError('--route NAME is required');
  const route = config.routes.find((candidate) => candidate.name === options.route);
  if (!route) throw new UsageError(`there is no route named "${options.route}" (routes: ${config.routes.map((r) => r.name).join(', ')})`);
  const file = config.invitations.file;
  if (!file) throw new Error('invitations.file is not set in the config');
  let expiresAt: Date | null = null;
  if (options.expires !== undefined) {
    const ms = parseDurationMs(options.expires);
    if (ms === undefined) throw new UsageError(`--expires must be a duration like 12h or 30d (got "${options.expires}")`);
    expiresAt = new Date(Date.now() + ms);
  }
  const by = whoIsActing(options, env);
  const stored = await addOrUpdateInvitation(file, {
    email,
    routes: [route.name],
    expiresAt,
    invitedBy: by,
    invitedAt: new Date(),
    note: options.note,
  });
  const audit = auditLogger();
  audit.info({ event: 'invite.created', email, route: route.name, by, expires: expiresAt?.toISOString() ?? null, routes: stored.routes });
  const notifier = createNotifier(config.mail, { logger: audit });
  const delivery = await notifier.sendInvitation({
    to: email,
    url: `${route.from.origin}${route.from.pathPrefix || '/'}`,
    appName: appNameOf(route),
    // No browser to ask: the configured language, English when it follows the browser.
    language: config.branding.language === 'auto' ? 'en' : config.branding.language,
    invitedBy: by,
    expiresAt: expiresAt ?? undefined,
    note: options.note,
    requestId: `cli-invite-${Date.now().toString(36)}`,
  });
  await notifier.close();
  const invited = `invited ${email} to ${stored.routes.join(', ')}${expiresAt ? ` until ${expiresAt.toISOString()}` : ''}`;
  if (delivery === 'failed') {
    out(`${invited}, but the invitation mail could not be sent (mail.failed above says why); they can still sign in at ${route.from.origin}\n`);
    return 1;
  }
  out(`${invited}; invitation mailed\n`);
  return 0;
}

/** `gatehouse uninvite EMAIL`: removes the entry and signs the guest out everywhere. */
export async function runUninvite(config: GatewayConfig, emailArg: string | undefined, options: LifecycleOptions, env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const email = normalizedEmail(emailArg);
  const file = config.invitations.file;
  if (!file) throw new Error('invitations.file is not set in the config');
  const removed = await removeInvitation(file, email);
  const by = whoIsActing(options, env);
  const audit = auditLogger();
  if (removed) audit.info({ event: 'invite.removed', email, by });
  out(removed ? `removed the invitation of ${email}\n` : `${email} was not invited\n`);
  // Access through `invited` ends at once anyway (checked per request); revoking also ends
  // sessions the guest may hold through another rule.
  // Their passkeys go too: invited again later, they start again from a code.
  try {
    const client = adminClientFor(config);
    const { count } = await client.revokeEmail(email);
    audit.info({ event: 'session.revoked', email, count, by });
    out(`signed ${email} out of ${count} session(s)\n`);
    const passkeys = await client.removePasskeysOf(email);
    audit.info({ event: 'passkey.removed', email, count: passkeys.count, by });
    out(`removed ${passkeys.count} passkey(s) of ${email}\n`);
  } catch (error) {
    out(`warning: sessions or passkeys were not removed: ${(error as Error).message}\n`);
    return removed ? 0 : 1;
  }
  return 0;
}

/** `gatehouse passkeys [EMAIL] [--json]` and `gatehouse passkeys remove EMAIL | --id ID`. */
export async function runPasskeys(config: GatewayConfig, args: readonly string[], options: LifecycleOptions, env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const client = adminClientFor(config);
  if (args[0] !== 'remove') {
    if (args.length > 1) throw new UsageError(`unexpected argument "${args[1]}"`);
    const passkeys = await client.listPasskeys(args[0] === undefined ? undefined : normalizedEmail(args[0]));
    out(options.json ? `${JSON.stringify({ passkeys }, null, 2)}\n` : formatPasskeysTable(passkeys));
    return 0;
  }
  const emailArg = args[1];
  if ((emailArg === undefined) === (options.id === undefined)) throw new UsageError('passkeys remove: give exactly one of EMAIL or --id ID');
  const by = whoIsActing(options, env);
  if (options.id !== undefined) {
    const { count } = await client.removePasskey(options.id);
    auditLogger().info({ event: 'passkey.removed', passkey: options.id.slice(0, 12), count, by });
    out(`removed ${count} passkey(s)\n`);
    return 0;
  }
  const email = normalizedEmail(emailArg);
  const { count } = await client.removePasskeysOf(email);
  auditLogger().info({ event: 'passkey.removed', email, count, by });
  out(`removed ${count} passkey(s) of ${email}\n`);
  return 0;
}

/** `gatehouse sessions [--email E] [--json]`. */
export async function runSessions(config: GatewayConfig, options: LifecycleOptions, out: Output): Promise<number> {
  const sessions = await adminClientFor(config).listSessions(options.email);
  out(options.json ? formatSessionsJson(sessions) : formatSessionsTable(sessions));
  return 0;
}

/** `gatehouse revoke EMAIL | --session ID | --all`. */
export async function runRevoke(config: GatewayConfig, emailArg: string | undefined, options: LifecycleOptions, env: NodeJS.ProcessEnv, out: Output): Promise<number> {
  const chosen = [emailArg !== undefined, options.session !== undefined, options.all === true].filter(Boolean).length;
  if (chosen !== 1) throw new UsageError('give exactly one of EMAIL, --session ID or --all');
  const client = adminClientFor(config);
  const by = whoIsActing(options, env);
  let result: { count: number };
  let target: Record<string, unknown>;
  if (options.all) {
    result = await client.revokeAll();
    target = { all: true };
  } else if (options.session) {
    result = await client.revokeSession(options.session);
    target = { session_id: options.session };
  } else {
    const email = normalizedEmail(emailArg);
    result = await client.revokeEmail(email);
    target = { email };
  }
  auditLogger().info({ event: 'session.revoked', ...target, count: result.count, by });
  out(`revoked ${result.count} session(s)\n`);
  return 0;
}

/** `gatehouse keys [rotate]`: the assertion's signing keys, or start signing with the next one. */
export async function runKeys(config: GatewayConfig, action: string | undefined, out: Output): Promise<number> {
  if (action !== undefined && action !== 'rotate') throw new UsageError(`gatehouse keys takes "rotate" or nothing (got "${action}")`);
  if (!config.assertion.enabled) out('note: assertion.enabled is false, so nothing is signed with these keys\n');
  const client = adminClientFor(config);
  const overview = action === 'rotate' ? await client.rotateKeys() : await client.listKeys();
  if (action === 'rotate') {
    const grace = Math.round(config.assertion.rotation_grace / 3600_000);
    out(`rotated: ${overview.keys[0]?.kid ?? '?'} signs from now on; the previous key stays published for ${grace} h\n`);
  }
  out(formatKeysTable(overview));
  return 0;
}

/** `gatehouse report [--format table|csv|json] [--days 30] [--inactive 30]`. */
export async function runReport(config: GatewayConfig, options: LifecycleOptions, out: Output): Promise<number> {
  const format = options.format ?? 'table';
  if (format !== 'table' && format !== 'csv' && format !== 'json') throw new UsageError(`--format must be table, csv or json (got "${format}")`);
  const days = Number(options.days ?? 30);
  const inactiveDays = Number(options.inactive ?? 30);
  if (!Number.isInteger(days) || days < 1 || days > 400) throw new UsageError('--days must be a whole number from 1 to 400');
  if (!Number.isInteger(inactiveDays) || inactiveDays < 1) throw new UsageError('--inactive must be a whole number of days');
  const report = await adminClientFor(config).report(days);
  out(formatReport(flagInactiveGuests(report.guests, inactiveDays, Date.parse(report.generated)), format, days));
  return 0;
}

export { AdminClientError };
