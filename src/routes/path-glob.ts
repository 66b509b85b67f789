/**
 * `public:` path globs (SPEC.md section 2), compiled once at route-table build into one
 * anchored RegExp each, and matched against paths from `normalizeRequestTarget`.
 *
 * - `*` any characters within one segment (possibly none), `?` exactly one character within a
 *   segment (of the normalised path, where an escape such as `%20` counts as three);
 * - `**` as a whole segment: any number of segments, including none (`/assets/**` matches
 *   `/assets`, `/assets/` and `/assets/a/b`; `/a/**` + `/b` matches `/a/b` and `/a/x/y/b`);
 *   elsewhere `**` is the same as `*`;
 * - everything else literal and case-sensitive, after the same percent-normalisation as request
 *   paths (so `/caf%c3%a9` and `/café` both match the request `/caf%C3%A9`).
 */
import { canonicalizeConfiguredPathText } from './normalize-path.js';

/**
 * Compiles an absolute path glob into a predicate over normalised request paths.
 *
 * @throws TypeError when the glob is not absolute, has a malformed percent-escape, an encoded
 *   `/`, `\` or NUL, an empty segment or a `.`/`..` segment: such a glob could never match a
 *   normalised path, so it is a configuration mistake rather than something to ignore.
 */
export function compilePathGlob(glob: string): (normalizedPath: string) => boolean {
  const pattern = new RegExp(`^(?:${pathGlobToRegExpSource(glob)})$`);
  return (normalizedPath) => pattern.test(normalizedPath);
}

/**
 * The RegExp source for `glob`, without anchors: match it as `^(?:source)$`. Several globs can
 * be joined with `|` inside one anchored group, which lets the engine fail fast at position 0.
 *
 * @throws TypeError as {@link compilePathGlob} does.
 */
export function pathGlobToRegExpSource(glob: string): string {
  const fail = (problem: string) => new TypeError(`public path glob "${glob}" ${problem}`);
  if (!glob.startsWith('/')) throw fail('must start with "/"');

  const segments = glob.split('/');
  let source = '';
  for (let index = 1; index < segments.length; index++) {
    const segment = segments[index] as string;
    const isLast = index === segments.length - 1;
    if (segment === '**') {
      // Zero or more whole segments; the following `/` (if any) comes from the next segment.
      source += '(?:/.*)?';
      continue;
    }
    if (segment === '' && !isLast) throw fail('has an empty segment ("//"), which never matches a normalised path');
    if (segment === '.' || segment === '..') throw fail('has a "." or ".." segment, which never matches a normalised path');
    source += '/' + segmentToRegExpSource(segment, fail);
  }
  return source;
}

function segmentToRegExpSource(segment: string, fail: (problem: string) => Error): string {
  let source = '';
  let literal = '';
  const flushLiteral = () => {
    if (literal === '') return;
    const canonical = canonicalizeConfiguredPathText(literal);
    if (canonical === undefined) throw fail('has a malformed percent-escape or an invalid character');
    // Requests with these are rejected before matching; a glob naming them is a mistake.
    if (/%(?:2F|5C|00)/.test(canonical)) throw fail('has an encoded "/", "\\" or NUL, which never matches a request');
    source += canonical.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    literal = '';
  };
  for (let i = 0; i < segment.length; i++) {
    const char = segment[i] as string;
    if (char === '*') {
      flushLiteral();
      while (segment[i + 1] === '*') i++;
      source += '[^/]*';
    } else if (char === '?') {
      flushLiteral();
      source += '[^/]';
    } else {
      literal += char;
    }
  }
  flushLiteral();
  return source;
}
