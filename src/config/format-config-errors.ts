/**
 * The one format of config errors and warnings: `FILE:LINE PATH: MESSAGE (got VALUE)`, e.g.
 * `gateway.yaml:14 routes[2].allow[0]: must be an email address, … (got "bob@")`.
 */
import type { ConfigPath } from './yaml-locations.js';

/** One error or warning, located but not yet rendered. */
export interface ConfigProblem {
  readonly path: ConfigPath;
  readonly line: number;
  readonly message: string;
  /** The offending value, shown as JSON when it is a scalar and its path holds no secret. */
  readonly got?: unknown;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['routes', 2, 'allow', 0]` → `routes[2].allow[0]`; odd keys as `groups["a b"]`. */
export function formatConfigPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (IDENTIFIER.test(String(segment))) text += text === '' ? String(segment) : `.${String(segment)}`;
    else text += `[${JSON.stringify(String(segment))}]`;
  }
  return text === '' ? '(top level)' : text;
}

// Paths whose values are credentials, so an error message (which ends up in logs, CI output
// and bug reports) never leaks them.
const SECRET_PATH_PREFIXES = ['session.secret', 'admin.token', 'mail.smtp.url', 'mail.smtp.auth'];
// Any key named like a credential, wherever it is: e.g. a route header `Authorization`.
const SECRET_KEY_NAME = /secret|token|pass|auth|credential|api[-_]?key|private/i;
// A URL with `user:password@` carries a password whatever key holds it (e.g. a Redis URL).
const URL_WITH_CREDENTIALS = /\/\/[^/\s@]*@/;

/** True when the value at `path` must never be echoed in a message. */
export function isSecretPath(path: ConfigPath): boolean {
  const dotted = path.map(String).join('.');
  return (
    SECRET_PATH_PREFIXES.some((prefix) => dotted === prefix || dotted.startsWith(`${prefix}.`)) ||
    path.some((segment) => typeof segment === 'string' && SECRET_KEY_NAME.test(segment))
  );
}

/**
 * Renders a problem. `hiddenPaths` adds paths that must stay hidden for other reasons (their
 * value came from a secret environment variable).
 */
export function formatConfigProblem(
  file: string,
  problem: ConfigProblem,
  hiddenPaths: readonly ConfigPath[] = [],
): string {
  const head = `${file}:${problem.line} ${formatConfigPath(problem.path)}: ${problem.message}`;
  return head + describeGot(problem, hiddenPaths);
}

function describeGot(problem: ConfigProblem, hiddenPaths: readonly ConfigPath[]): string {
  const { got, path } = problem;
  const isScalar = got === null || ['string', 'number', 'boolean'].includes(typeof got);
  if (!isScalar) return '';
  const hidden =
    isSecretPath(path) ||
    hiddenPaths.some((hiddenPath) => startsWithPath(path, hiddenPath)) ||
    (typeof got === 'string' && URL_WITH_CREDENTIALS.test(got));
  return hidden ? ' (got a hidden value)' : ` (got ${JSON.stringify(got)})`;
}

/** True when `path` is `prefix` or lies below it. */
export function startsWithPath(path: ConfigPath, prefix: ConfigPath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => String(segment) === String(path[index]));
}

/** Orders problems by line; the sort is stable, so a line keeps the order of discovery. */
export function sortByLine<T extends { readonly line: number }>(problems: readonly T[]): T[] {
  return [...problems].sort((a, b) => a.line - b.line);
}
