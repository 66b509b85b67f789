/** The human summary `gatehouse check` prints: one block per route, then warnings. */
import type { LoadedConfig } from './load-config.js';
import type { AllowPattern } from './values.js';
import type { RouteConfig } from './schema.js';

/** Spells a parsed allow pattern the way it is written in YAML. */
export function formatAllowPattern(pattern: AllowPattern): string {
  switch (pattern.kind) {
    case 'email':
      return pattern.email;
    case 'domain':
      return `*@${pattern.domain}`;
    case 'group':
      return `group:${pattern.group}`;
    case 'invited':
      return 'invited';
    case 'anyone':
      return '*';
  }
}

function describeUpstream(route: RouteConfig): string {
  if (route.to === undefined) return '(forward-auth only: no upstream)';
  return route.to.kind === 'builtin' ? `builtin:${route.to.name}` : route.to.origin + route.to.basePath;
}

export function describeConfigSummary(loaded: LoadedConfig): string {
  const { config } = loaded;
  const lines = [`${loaded.file}: ok, ${config.routes.length} route(s), sessions in ${config.session.store === 'memory' ? 'memory' : 'redis'}, mail via ${config.mail.transport}`];
  for (const route of config.routes) {
    lines.push('');
    lines.push(`  ${route.name}: ${route.from.origin}${route.from.pathPrefix || '/'} -> ${describeUpstream(route)}`);
    lines.push(`    allow:  ${route.allow.length ? route.allow.map(formatAllowPattern).join(', ') : '(nobody)'}`);
    if (route.public.length) lines.push(`    public: ${route.public.join(', ')}`);
    const flags = [
      route.strip_prefix && 'strip_prefix',
      route.preserve_host && 'preserve_host',
      !route.websockets && 'no websockets',
      route.tls.insecure_skip_verify && 'INSECURE tls',
      route.require === 'passkey' && 'passkey required',
    ].filter(Boolean);
    if (flags.length) lines.push(`    ${flags.join(', ')}`);
  }
  for (const warning of loaded.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
