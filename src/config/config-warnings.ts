/**
 * Settings that are valid but dangerous or surprising. Each warning says the consequence, so
 * an operator reading the start-up log knows what they accepted.
 */
import type { GatewayConfig } from './schema.js';
import type { ConfigPath } from './yaml-locations.js';

export interface ConfigWarning {
  readonly path: ConfigPath;
  readonly message: string;
}

/** The warnings for a validated config, in file order as far as paths tell. */
export function collectConfigWarnings(config: GatewayConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  config.routes.forEach((route, index) => {
    route.allow.forEach((pattern, patternIndex) => {
      if (pattern.kind === 'anyone') {
        warnings.push({
          path: ['routes', index, 'allow', patternIndex],
          message: `"*" means anyone with an inbox can sign in to route ${JSON.stringify(route.name)}`,
        });
      }
    });
    if (route.tls.insecure_skip_verify) {
      warnings.push({
        path: ['routes', index, 'tls', 'insecure_skip_verify'],
        message: `the upstream certificate of route ${JSON.stringify(route.name)} is not verified: a man-in-the-middle can read and change its traffic`,
      });
    }
  });
  if (config.session.store === 'memory' && config.session.secret.length === 0) {
    warnings.push({
      path: ['session', 'secret'],
      message: 'is not set, so a random secret is made at each start: sessions end on restart',
    });
  }
  if (config.mail.transport === 'log') {
    warnings.push({
      path: ['mail', 'transport'],
      message: 'is "log": mails, sign-in codes included, are printed to the log; for development only, never in production',
    });
  }
  return warnings;
}
