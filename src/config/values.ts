/**
 * Parsers for the small value languages used inside gateway.yaml: durations, rates,
 * listen addresses, CIDRs and email patterns. Each returns `undefined` for bad input so
 * the schema can attach a message that names the YAML path.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Parses `90s`, `10m`, `24h`, `7d` or `250ms` into milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

export interface Rate {
  readonly count: number;
  readonly windowMs: number;
}

/** Parses `5/1h` (five per hour) into a count and a window. */
export function parseRate(text: string): Rate | undefined {
  const match = /^(\d+)\/(.+)$/.exec(text.trim());
  if (!match) return undefined;
  const count = Number(match[1]);
  const windowMs = parseDurationMs(match[2]!);
  if (!Number.isSafeInteger(count) || count < 1 || windowMs === undefined) return undefined;
  return { count, windowMs };
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `0.0.0.0:8080`, `[::1]:8080` or `:8080` (all interfaces). */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[1] ?? (match[2] || '0.0.0.0');
  const port = Number(match[3]);
  if (port < 0 || port > 65535) return undefined;
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  if (match[2] !== undefined && match[2] !== '' && isIP(host) === 0 && !isHostname(host)) {
    return undefined;
  }
  return { host, port };
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** Parses `10.0.0.0/8`, `::1/128` or a bare address (a one-address network). */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d+$/.test(prefixText ?? String(max)) || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const HOSTNAME_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** True for an ASCII DNS hostname (letters, digits, hyphens; dot-separated labels). */
export function isHostname(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  return host.toLowerCase().split('.').every((label) => HOSTNAME_LABEL.test(label));
}

// RFC 5322 dot-atom: atext runs separated by single dots. No quotes, comments or spaces.
const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/** What is wrong with an address, for the sign-in page's message (src/i18n `emailProblem`). */
export type EmailProblem = 'empty' | 'control' | 'whitespace' | 'tooLong' | 'atSign' | 'localPart' | 'domain';

/**
 * Normalises an email address as SPEC section 4 says: trimmed, lower-cased, at most 254
 * characters, one `@`, a dot-atom local part and a hostname whose IDN labels are turned
 * into their ASCII form. Returns a reason (English, for config errors) and the problem (for
 * the pages' own words) instead when the address is not acceptable.
 */
export function normalizeEmailAddress(
  input: string,
): { ok: true; email: string } | { ok: false; reason: string; problem: EmailProblem } {
  const text = input.trim();
  // Control characters and line breaks would let an address inject mail headers.
  if (/[\u0000-\u001f\u007f]/.test(text)) return { ok: false, reason: 'contains a control character', problem: 'control' };
  if (/\s/.test(text)) return { ok: false, reason: 'contains whitespace', problem: 'whitespace' };
  if (text.length > 254) return { ok: false, reason: 'is longer than 254 characters', problem: 'tooLong' };
  const parts = text.split('@');
  if (parts.length !== 2) return { ok: false, reason: 'must contain exactly one @', problem: text === '' ? 'empty' : 'atSign' };
  const local = parts[0]!.toLowerCase();
  const domainInput = parts[1]!.toLowerCase();
  if (!DOT_ATOM.test(local) || local.length > 64) {
    return { ok: false, reason: 'has a local part that is not a plain address (no quotes, commas or comments)', problem: 'localPart' };
  }
  // `%` and `!` route mail onward on some servers (`bob%evil.test@relay`: the code goes to
  // evil.test), and `=?` starts an RFC 2047 encoded word that a mail client may display as
  // another address. Valid in RFC 5322, never needed by a guest.
  if (/[%!]/.test(local) || local.includes('=?')) {
    return { ok: false, reason: 'has a local part with a mail-routing character (% or !) or an encoded word (=?)', problem: 'localPart' };
  }
  const domain = domainToASCII(domainInput);
  if (!domain || !isHostname(domain) || !domain.includes('.')) {
    return { ok: false, reason: 'does not end in a valid domain name', problem: 'domain' };
  }
  const email = `${local}@${domain}`;
  if (email.length > 254) return { ok: false, reason: 'is longer than 254 characters', problem: 'tooLong' };
  return { ok: true, email };
}

/** An entry of a route's `allow` list or of a group, in the form the policy uses. */
export type AllowPattern =
  | { readonly kind: 'email'; readonly email: string }
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'invited' }
  | { readonly kind: 'anyone' };

/** Parses `bob@x.org`, `*@x.org`, `group:name`, `invited` or `*`. */
export function parseAllowPattern(text: string, allowGroupsAndInvited: boolean): AllowPattern | undefined {
  const value = text.trim();
  if (value === '*') return { kind: 'anyone' };
  if (allowGroupsAndInvited && value === 'invited') return { kind: 'invited' };
  if (allowGroupsAndInvited && value.startsWith('group:')) {
    const group = value.slice('group:'.length);
    return /^[A-Za-z0-9_.-]+$/.test(group) ? { kind: 'group', group } : undefined;
  }
  if (value.startsWith('*@')) {
    const normalized = normalizeEmailAddress(`x${value.slice(1)}`);
    return normalized.ok ? { kind: 'domain', domain: normalized.email.slice(2) } : undefined;
  }
  const normalized = normalizeEmailAddress(value);
  return normalized.ok ? { kind: 'email', email: normalized.email } : undefined;
}
