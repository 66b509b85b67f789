/**
 * `${NAME}` and `${NAME:-default}` in string values of gateway.yaml (SPEC section 2), replaced
 * in the YAML document itself so that every value keeps its line for error messages.
 */
import { isMap, isPair, isScalar, isSeq, Scalar, type Document, type Node } from 'yaml';
import type { ConfigPath } from './yaml-locations.js';

/** A problem found while interpolating; `node` gives its line. */
export interface InterpolationProblem {
  readonly path: ConfigPath;
  readonly node: Node;
  readonly message: string;
}

export interface InterpolationResult {
  readonly problems: readonly InterpolationProblem[];
  /** Paths whose value came (in part) from a variable named like a secret: never echo them. */
  readonly secretPaths: readonly ConfigPath[];
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const SECRET_VARIABLE_NAME = /secret|token|pass|key|credential/i;

/**
 * Replaces variables in every string value (never in keys) of `document`, in place.
 *
 * A plain (unquoted) scalar that contained a reference and now reads as an integer or a
 * boolean becomes one, so `digits: ${OTP_DIGITS:-6}` is a number as `digits: 6` would be;
 * quoted and block scalars stay strings, as they would without variables.
 */
export function interpolateEnvironment(document: Document, env: NodeJS.ProcessEnv): InterpolationResult {
  const problems: InterpolationProblem[] = [];
  const secretPaths: ConfigPath[] = [];

  const interpolateScalar = (scalar: Scalar, path: ConfigPath): void => {
    const text = scalar.value;
    if (typeof text !== 'string' || !text.includes('${')) return;
    const missing: string[] = [];
    let usedSecretVariable = false;
    const result = text.replace(REFERENCE, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (SECRET_VARIABLE_NAME.test(name)) usedSecretVariable = true;
      // Shell semantics: `:-` also applies when the variable is set but empty.
      if (fallback !== undefined) return value === undefined || value === '' ? fallback : value;
      if (value === undefined) missing.push(name);
      return value ?? '';
    });
    if (usedSecretVariable) secretPaths.push(path);
    // A `${` left after replacement is a typo such as `${NAME-x}`; kept literally it could
    // pass as a 32-character secret, so it is an error rather than text.
    if (text.replace(REFERENCE, '').includes('${')) {
      problems.push({ path, node: scalar, message: 'has a malformed ${...} reference: write ${NAME} or ${NAME:-default}' });
      return;
    }
    for (const name of missing) {
      problems.push({ path, node: scalar, message: `uses the environment variable ${name}, which is not set (give a default with \${${name}:-value})` });
    }
    if (missing.length > 0) return;
    scalar.value = scalar.type === Scalar.PLAIN && !scalar.tag ? plainScalarValue(result) : result;
  };

  const visit = (node: unknown, path: ConfigPath): void => {
    if (isScalar(node)) interpolateScalar(node, path);
    else if (isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...path, index]));
    // Aliases are skipped: their anchor is interpolated where it is defined.
  };

  visit(document.contents, []);
  return { problems, secretPaths };
}

/** What YAML's core schema would make of `text` as a plain scalar, for integers and booleans. */
function plainScalarValue(text: string): string | number | boolean {
  if (/^[-+]?\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  return text;
}
