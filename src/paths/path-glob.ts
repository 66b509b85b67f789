/**
 * `public:` path globs (SPEC.md section 2), compiled once at route-table build into one
 * anchored RegExp (one per route for all its globs), and matched against paths from
 * `normalizeRequestTarget`.
 *
 * - `*` any characters within one segment (possibly none), `?` exactly one character within a
 *   segment (of the normalised path, where an escape such as `%20` counts as three);
 * - `**` as a whole segment: any number of segments, including none (`/assets/**` matches
 *   `/assets`, `/assets/` and `/assets/a/b`; `/a/**` + `/b` matches `/a/b` and `/a/x/y/b`);
 *   elsewhere `**` is the same as `*`;
 * - everything else literal and case-sensitive, after the same percent-normalisation as request
 *   paths (so `/caf%c3%a9` and `/café` both match the request `/caf%C3%A9`).
 *
 * ReDoS: the request path is attacker-controlled. A naive translation (`**` → `(?:/.*)?`,
 * `*` → `[^/]*`) backtracks polynomially in the path length for each extra wildcard, so
 * `/**` + `/a/**` + `/a/**` + `/b` against `/a/a/a/…` (8 KB) could pin a CPU. Every wildcard
 * except the last of its kind therefore commits to the leftmost place where the text after it
 * matches, through an atomic group (`(?=(?<g>…))\k<g>`). For globs, leftmost is always as good
 * as any later place (the classic greedy wildcard-matching argument), so results are unchanged
 * and matching stays O(path length × glob length).
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
  return compilePathGlobs([glob]);
}

/**
 * Compiles several globs into one predicate (one RegExp, one test per path) that is true when
 * any of them matches. An empty list matches nothing.
 *
 * @throws TypeError as {@link compilePathGlob} does, naming the first bad glob.
 */
export function compilePathGlobs(globs: readonly string[]): (normalizedPath: string) => boolean {
  if (globs.length === 0) return () => false;
  const groupNames = { next: 0 };
  const alternatives = globs.map((glob) => globToRegExpSource(glob, groupNames));
  // One leading `^` for all alternatives, so the engine never retries at later start positions.
  const pattern = new RegExp(`^(?:${alternatives.join('|')})$`);
  return (normalizedPath) => pattern.test(normalizedPath);
}

/** `**` before the last block: whole segments only, so backtracking stops at each `/`. */
const ANY_SEGMENTS_GREEDY = '(?:/[^/]*)*';
/** `**` before a middle block, inside an atomic group: the fewest segments that let it match. */
const ANY_SEGMENTS_LAZY = '(?:/[^/]*)*?';
/** A trailing `**`: nothing follows, so the simplest form is also the fastest. */
const ANY_REST = '(?:/.*)?';
/** Keeps an atomic group from committing to half a segment (`/b` inside `/bc`). */
const SEGMENT_END = '(?=/|$)';

function globToRegExpSource(glob: string, groupNames: { next: number }): string {
  const fail = (problem: string) => new TypeError(`public path glob "${glob}" ${problem}`);
  if (!glob.startsWith('/')) throw fail('must start with "/"');

  const parts = glob.slice(1).split('/');
  let source = '';
  let block = '';
  let afterDoubleStar = false;
  parts.forEach((part, index) => {
    if (part === '**') {
      if (!afterDoubleStar) source += block;
      // A block between two `**`: commit to its leftmost occurrence (see ReDoS above).
      else if (block !== '') source += atomic(ANY_SEGMENTS_LAZY + block + SEGMENT_END, groupNames);
      block = '';
      afterDoubleStar = true;
      return;
    }
    if (part === '' && index !== parts.length - 1) {
      throw fail('has an empty segment ("//"), which never matches a normalised path');
    }
    if (part === '.' || part === '..') throw fail('has a "." or ".." segment, which never matches a normalised path');
    // Outside atomic groups each segment is followed by `/` or the end anyway.
    block += '/' + segmentToRegExpSource(part, groupNames, fail);
  });
  if (!afterDoubleStar) return source + block;
  return source + (block === '' ? ANY_REST : ANY_SEGMENTS_GREEDY + block);
}

/**
 * `a*b?c*d` → `a` + atomic(`[^/]*?b[^/]c`) + `[^/]*d`: every `*` but the last commits leftmost.
 * The caller ensures a `/` or the end follows, so the last `[^/]*` ends the segment.
 */
function segmentToRegExpSource(
  segment: string,
  groupNames: { next: number },
  fail: (problem: string) => Error,
): string {
  const pieces = segment.split(/\*+/).map((piece) => pieceToRegExpSource(piece, fail));
  if (pieces.length === 1) return pieces[0] as string;
  let source = pieces[0] as string;
  for (let i = 1; i < pieces.length - 1; i++) source += atomic('[^/]*?' + pieces[i], groupNames);
  return source + '[^/]*' + pieces[pieces.length - 1];
}

/** Literal text with `?` wildcards, normalised like request paths and regex-escaped. */
function pieceToRegExpSource(piece: string, fail: (problem: string) => Error): string {
  return piece
    .split('?')
    .map((literal) => {
      const canonical = canonicalizeConfiguredPathText(literal);
      if (canonical === undefined) throw fail('has a malformed percent-escape or an invalid character');
      // Requests with these are rejected before matching; a glob naming them is a mistake.
      if (/%(?:2F|5C|00)/.test(canonical)) throw fail('has an encoded "/", "\\" or NUL, which never matches a request');
      return canonical.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('[^/]');
}

/** Matches `source` once, at its first fit, and never backtracks into it. */
function atomic(source: string, groupNames: { next: number }): string {
  const name = `g${groupNames.next++}`;
  return `(?=(?<${name}>${source}))\\k<${name}>`;
}
