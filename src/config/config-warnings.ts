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

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The warnings for a validated config, in file order as far as paths tell. */
export function collectConfigWarnings(config: GatewayConfig): ConfigWarning[] {
  const warnings: ConfigWarning[] = [];
  config.routes.forEach((route, index) => {
    route.allow.forEach((pattern, patternIndex) => {
      const path = ['routes', index, 'allow', patternIndex];
      const consequence = `anyone with an inbox can sign in to route ${JSON.stringify(route.name)}`;
      if (pattern.kind === 'anyone') warnings.push({ path, message: `"*" means ${consequence}` });
      // A "*" hidden in a group opens the route just as wide, so it must not go unnoticed.
      if (pattern.kind === 'group' && config.groups[pattern.group]?.some((member) => member.kind === 'anyone')) {
        warnings.push({ path, message: `group ${JSON.stringify(pattern.group)} contains "*", so ${consequence}` });
      }
    });
    const external = new URL(route.from.origin);
    const secureContext = external.protocol === 'https:' || external.hostname === 'localhost' || external.hostname.endsWith('.localhost');
    // Browsers offer WebAuthn only in a secure context: on plain http nobody could pass.
    if (route.require === 'passkey' && !secureContext) {
      warnings.push({
        path: ['routes', index, 'require'],
        message: `is "passkey" on ${route.from.origin}: browsers use passkeys only on https:// (or localhost), so nobody can pass route ${JSON.stringify(route.name)}`,
      });
    }
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
  const admin = config.admin.listen;
  if (admin && !isLoopbackHost(admin.host)) {
    warnings.push({
      path: ['admin', 'listen'],
      message: `is reachable from the network (${admin.host}): /metrics and /readyz are open to anyone who can connect${config.admin.token ? '' : ', and the admin API stays disabled without admin.token'}`,
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
