/**
 * The second validation pass: files the config names (CA bundles) must be readable, and file
 * paths are made absolute against the config file's directory, so the gateway behaves the
 * same whatever directory it was started from.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GatewayConfig } from './schema.js';
import { valueAt } from './describe-schema-issues.js';
import type { ConfigPath } from './yaml-locations.js';
import { EcPrivateKeyError, parseEcPrivateKeys } from '../lib/ec-private-keys.js';

/** A file path as written in the config, with where it was written. */
export interface ConfigFileReference {
  readonly path: ConfigPath;
  readonly file: string;
}

const REDIS_TLS_FILES = ['ca', 'cert', 'key'] as const;

/** The assertion's signing keys, whose content is checked too. */
export const ASSERTION_KEY_FILE_PATH: ConfigPath = ['assertion', 'key_file'];

/**
 * The files named in the (unvalidated) input: the CA files `routes[i].tls.ca` and
 * `mail.smtp.tls.ca`, Redis' TLS files and `assertion.key_file`.
 */
export function listFileReferences(input: unknown): ConfigFileReference[] {
  const routes = valueAt(input, ['routes']);
  const paths: ConfigPath[] = [
    ...(Array.isArray(routes) ? routes.map((_route, index): ConfigPath => ['routes', index, 'tls', 'ca']) : []),
    ['mail', 'smtp', 'tls', 'ca'],
    ...REDIS_TLS_FILES.map((name): ConfigPath => ['session', 'store', 'redis', 'tls', name]),
    ASSERTION_KEY_FILE_PATH,
  ];
  return paths.flatMap((path) => {
    const file = valueAt(input, path);
    return typeof file === 'string' && file.trim() !== '' ? [{ path, file }] : [];
  });
}

/** Why `file` cannot be read as a regular file, or undefined when it can. */
export function explainUnreadableFile(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return `${file} is not a regular file`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `${file} does not exist`;
    if (code === 'EACCES') return `${file} is not readable (permission denied)`;
    return `${file} cannot be read (${code ?? String(error)})`;
  }
}

/** Why a readable `assertion.key_file` cannot sign (no P-256 private key in it), or undefined. */
export function explainUnusableKeyFile(file: string): string | undefined {
  try {
    parseEcPrivateKeys(readFileSync(file, 'utf8'));
    return undefined;
  } catch (error) {
    if (error instanceof EcPrivateKeyError) return `must hold EC P-256 private keys in PEM, but in ${file} ${error.message}`;
    throw error;
  }
}

/** Makes the file paths of a freshly parsed (not yet frozen) config absolute, in place. */
export function resolveConfigFilePaths(config: GatewayConfig, baseDir: string): void {
  for (const route of config.routes) {
    if (route.tls.ca) route.tls.ca = resolve(baseDir, route.tls.ca);
  }
  const smtpTls = config.mail.smtp?.tls;
  if (smtpTls?.ca) smtpTls.ca = resolve(baseDir, smtpTls.ca);
  const store = config.session.store;
  const redisTls = store === 'memory' ? undefined : store.redis.tls;
  if (redisTls) {
    for (const name of REDIS_TLS_FILES) if (redisTls[name]) redisTls[name] = resolve(baseDir, redisTls[name]);
  }
  if (config.invitations.file) config.invitations.file = resolve(baseDir, config.invitations.file);
  if (config.assertion.key_file) config.assertion.key_file = resolve(baseDir, config.assertion.key_file);
}
