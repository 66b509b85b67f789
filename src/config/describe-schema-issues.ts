/**
 * Turns zod issues into located, readable config problems: zod's defaults ("Invalid input:
 * expected number, received string") become "must be a number", unions are explained or
 * narrowed to the branch the user evidently meant, and each unknown key gets its own line
 * and a "did you mean" hint.
 */
import { z } from 'zod';
import type { ConfigProblem } from './format-config-errors.js';
import type { ConfigPath, YamlLocator } from './yaml-locations.js';

type Issue = z.core.$ZodIssue;

const TYPE_NOUNS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value pairs)',
  record: 'a mapping (key: value pairs)',
};

const plural = (count: number | bigint, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Error map for `safeParse` giving readable messages for zod's built-in checks. Messages
 * written in the schema itself take precedence over this map, so those are kept as written.
 */
export const readableZodErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${TYPE_NOUNS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'string') {
        return issue.minimum === 1 ? 'must not be empty' : `must be at least ${plural(issue.minimum, 'character')} long`;
      }
      if (issue.origin === 'array') return `must list at least ${plural(issue.minimum, 'item')}`;
      return issue.inclusive === false ? `must be greater than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'string') return `must be at most ${plural(issue.maximum, 'character')} long`;
      if (issue.origin === 'array') return `must list at most ${plural(issue.maximum, 'item')}`;
      return issue.inclusive === false ? `must be less than ${issue.maximum}` : `must be at most ${issue.maximum}`;
    case 'invalid_format':
      return issue.format === 'regex' ? `must match ${issue.pattern ?? 'the expected pattern'}` : `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    default:
      return undefined;
  }
};

export interface SchemaIssueContext {
  /** The schema that was parsed, to list the known keys for "did you mean" hints. */
  readonly schema: z.ZodType;
  /** The input that was parsed, to show the offending value. */
  readonly input: unknown;
  readonly locator: YamlLocator;
}

/** Converts the issues of a failed `safeParse` into problems, one per offending key or value. */
export function describeSchemaIssues(issues: readonly Issue[], context: SchemaIssueContext): ConfigProblem[] {
  return issues.flatMap((issue) => describeIssue(issue, [], context));
}

function describeIssue(issue: Issue, prefix: ConfigPath, context: SchemaIssueContext): ConfigProblem[] {
  const path = [...prefix, ...issue.path];
  const { locator, input } = context;
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({
        path: [...path, key],
        line: locator.lineOfKey([...path, key]),
        message: `unknown key ${JSON.stringify(key)}${didYouMean(key, knownKeysAt(context.schema, path))}`,
      }));
    case 'invalid_key': {
      const reasons = issue.issues.map((inner) => inner.message).join('; ');
      return [{ path, line: locator.lineOfKey(path), message: `key ${reasons}`, got: path.at(-1) }];
    }
    case 'invalid_union': {
      const meant = branchTheUserMeant(issue.errors);
      if (meant) return meant.flatMap((inner) => describeIssue(inner, path, context));
      return [{ path, line: locator.lineOfValue(path), message: describeUnion(issue.errors), got: valueAt(input, path) }];
    }
    default:
      return [{ path, line: locator.lineOfValue(path), message: issue.message, got: valueAt(input, path) }];
  }
}

/**
 * A union branch that failed only because of the value's type says nothing useful; when just
 * one branch got past the type (e.g. `store: {redis: {url: 5}}`), its issues are the real ones.
 */
function branchTheUserMeant(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  const typeMismatch = (issue: Issue) =>
    issue.path.length === 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value');
  const informative = branches.filter((branch) => !branch.every(typeMismatch));
  return informative.length === 1 ? informative[0] : undefined;
}

/** "must be "auto" or true or false", from what each branch expected. */
function describeUnion(branches: readonly (readonly Issue[])[]): string {
  const alternatives = branches.map((branch) => {
    const issue = branch[0];
    if (issue?.code === 'invalid_value') return issue.values.map((value) => JSON.stringify(value)).join(' or ');
    if (issue?.code === 'invalid_type') return TYPE_NOUNS[issue.expected] ?? issue.expected;
    return issue?.message.replace(/^must be /, '') ?? 'something else';
  });
  return `must be ${[...new Set(alternatives)].join(' or ')}`;
}

/** The value at `path` in plain data, or undefined. */
export function valueAt(data: unknown, path: ConfigPath): unknown {
  let value = data;
  for (const segment of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/** The keys an object at `path` may have, following the schema through wrappers and unions. */
function knownKeysAt(schema: z.ZodType, path: ConfigPath): string[] {
  let candidates: z.ZodType[] = [schema];
  for (const segment of path) {
    candidates = candidates.flatMap(unwrapSchema).flatMap((candidate): z.ZodType[] => {
      if (candidate instanceof z.ZodObject) {
        const child = (candidate.shape as Record<string, z.ZodType>)[String(segment)];
        return child ? [child] : [];
      }
      if (candidate instanceof z.ZodArray) return [candidate.element as z.ZodType];
      if (candidate instanceof z.ZodRecord) return [candidate.valueType as z.ZodType];
      return [];
    });
  }
  const objects = candidates.flatMap(unwrapSchema).filter((candidate) => candidate instanceof z.ZodObject);
  return [...new Set(objects.flatMap((object) => Object.keys(object.shape)))];
}

/** The schemas a value is actually checked against, past defaults, optionals, pipes and unions. */
function unwrapSchema(schema: z.ZodType): z.ZodType[] {
  if (
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable
  ) {
    return unwrapSchema(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrapSchema(schema.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(unwrapSchema);
  return [schema];
}

/** `, did you mean "allow"?` when a known key is a small typo away from `key`. */
function didYouMean(key: string, knownKeys: readonly string[]): string {
  const normalize = (text: string) => text.toLowerCase().replace(/-/g, '_');
  let best: { key: string; distance: number } | undefined;
  for (const known of knownKeys) {
    const distance = editDistance(normalize(key), normalize(known));
    if (distance <= Math.max(1, Math.floor(known.length / 3)) && (!best || distance < best.distance)) {
      best = { key: known, distance };
    }
  }
  return best ? `, did you mean ${JSON.stringify(best.key)}?` : '';
}

/** Levenshtein distance, enough for typos in short key names. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
