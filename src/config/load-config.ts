/**
 * Loads gateway.yaml (SPEC section 2): parse the YAML, replace `${VARS}`, validate against the
 * schema, check the files it names, and return a defaulted, frozen config with warnings.
 * `check`, start-up and SIGHUP reload all call this, so they can never disagree.
 *
 * Every problem is collected before anything is thrown, so an operator fixes the whole file
 * in one round instead of one error per restart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ASSERTION_KEY_FILE_PATH, explainUnreadableFile, explainUnusableKeyFile, listFileReferences, resolveConfigFilePaths } from './config-files.js';
import { collectConfigWarnings } from './config-warnings.js';
import { describeSchemaIssues, readableZodErrorMap } from './describe-schema-issues.js';
import { formatConfigProblem, sortByLine, startsWithPath, type ConfigProblem } from './format-config-errors.js';
import { interpolateEnvironment } from './interpolate-env.js';
import { gatewayConfigSchema, type GatewayConfig } from './schema.js';
import { YamlLocator, type ConfigPath } from './yaml-locations.js';

export interface LoadedConfig {
  readonly config: Readonly<GatewayConfig>;
  /** Valid but dangerous settings, each as `FILE:LINE PATH: consequence`; for the caller to log. */
  readonly warnings: readonly string[];
  /** The config file (absolute for `loadConfigFile`, the label for `parseConfigText`). */
  readonly file: string;
}

/** An invalid config. `errors` lists every problem as `FILE:LINE PATH: MESSAGE (got VALUE)`. */
export class ConfigError extends Error {
  readonly errors: readonly string[];

  constructor(errors: readonly string[]) {
    super(errors.join('\n'));
    this.name = 'ConfigError';
    this.errors = Object.freeze([...errors]);
  }
}

/**
 * Reads, interpolates and validates a config file. Throws `ConfigError` listing every
 * problem. Has no other side effects. Messages name the file relative to the working
 * directory when it lies inside it; relative paths in the config are resolved against the
 * config file's directory.
 */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const absolute = resolve(file);
  const fromCwd = relative(process.cwd(), absolute);
  const label = fromCwd === '' || fromCwd.startsWith('..') || isAbsolute(fromCwd) ? absolute : fromCwd;
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'the file does not exist' : code === 'EISDIR' ? 'it is a directory' : String(error);
    throw new ConfigError([`${label}: cannot read the config file: ${reason}`]);
  }
  const loaded = parseConfigText(text, label, env, dirname(absolute));
  return Object.freeze({ ...loaded, file: absolute });
}

/**
 * Same as `loadConfigFile`, from text. `fileLabel` names the file in messages (e.g.
 * "gateway.yaml"); `baseDir` resolves relative file paths (default: the working directory).
 */
export function parseConfigText(
  text: string,
  fileLabel: string,
  env: NodeJS.ProcessEnv = process.env,
  baseDir: string = process.cwd(),
): LoadedConfig {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the source line, which may hold a secret.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new YamlLocator(document, lineCounter);
  const at = (error: YAMLError) => `${fileLabel}:${locator.lineOfOffset(error.pos[0])}`;
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => `${at(error)} ${describeYamlError(error, text)}`));
  }

  const interpolation = interpolateEnvironment(document, env);
  let input: unknown;
  try {
    input = document.toJS();
  } catch (error) {
    // Unknown aliases and alias bombs surface only here.
    throw new ConfigError([`${fileLabel}:1 ${(error as Error).message}`]);
  }

  if (input === null || input === undefined) {
    throw new ConfigError([formatConfigProblem(fileLabel, { path: [], line: 1, message: 'is empty: a config needs at least a routes list' })]);
  }

  const problems: ConfigProblem[] = interpolation.problems.map(({ path, node, message }) => ({
    path,
    line: locator.lineOfNode(node),
    message,
  }));
  // A value whose variable is missing would also fail the schema; one error about it is enough.
  const isStillTemplate = (path: ConfigPath) =>
    interpolation.problems.some((failed) => startsWithPath(path, failed.path));

  const parsed = gatewayConfigSchema.safeParse(input, { error: readableZodErrorMap });
  if (!parsed.success) {
    const context = { schema: gatewayConfigSchema, input, locator };
    problems.push(...describeSchemaIssues(parsed.error.issues, context).filter((problem) => !isStillTemplate(problem.path)));
  }
  for (const reference of listFileReferences(input)) {
    if (isStillTemplate(reference.path)) continue;
    const { path, file } = reference;
    const absolute = resolve(baseDir, file);
    const unreadable = explainUnreadableFile(absolute);
    if (unreadable) {
      problems.push({ path, line: locator.lineOfValue(path), message: `must be a readable file, but ${unreadable}`, got: file });
      continue;
    }
    const unusable = path === ASSERTION_KEY_FILE_PATH ? explainUnusableKeyFile(absolute) : undefined;
    if (unusable) problems.push({ path, line: locator.lineOfValue(path), message: unusable });
  }

  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(sortByLine(problems).map((problem) => formatConfigProblem(fileLabel, problem, interpolation.secretPaths)));
  }

  const config = parsed.data;
  resolveConfigFilePaths(config, baseDir);
  const warnings = [
    ...document.warnings.map((warning) => `${at(warning)} ${warning.message}`),
    ...sortByLine(collectConfigWarnings(config).map((warning) => ({ ...warning, line: locator.lineOfValue(warning.path) }))).map(
      (warning) => formatConfigProblem(fileLabel, warning),
    ),
  ];
  return deepFreeze({ config, warnings, file: fileLabel });
}

/** `GATEHOUSE_CONFIG` if set, else ./gateway.yaml if it exists, else ./gateway.example.yaml. */
export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  if (env.GATEHOUSE_CONFIG) return resolve(cwd, env.GATEHOUSE_CONFIG);
  const own = resolve(cwd, 'gateway.yaml');
  return existsSync(own) ? own : resolve(cwd, 'gateway.example.yaml');
}

function describeYamlError(error: YAMLError, text: string): string {
  if (error.code === 'DUPLICATE_KEY') {
    // The key as written, up to its colon: never the value, which may be a secret.
    const key = /^[^:\n]*/.exec(text.slice(error.pos[0]))?.[0].trim();
    return `duplicate key ${JSON.stringify(key)}: a key may appear only once in a mapping`;
  }
  return `YAML syntax error: ${error.message}`;
}

/** Freezes plain objects and arrays all the way down: a running gateway's config never changes. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
