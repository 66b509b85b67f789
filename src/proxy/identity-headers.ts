/**
 * The headers that tell the app who the user is, plus the route's own `headers:`. They are
 * set only after `stripSpoofableHeaders` has removed every client-sent copy.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface Identity {
  readonly email: string;
  /** Names of the route's groups that matched this address. */
  readonly groups: readonly string[];
}

type TemplatePart = { readonly literal: string } | { readonly field: 'email' | 'user' | 'groups' | 'route' };

export interface HeaderTemplate {
  readonly name: string;
  readonly parts: readonly TemplatePart[];
  readonly needsIdentity: boolean;
}

/** Compiles `{"X-Remote-User": "{email}"}` once, at route build time. */
export function compileHeaderTemplates(headers: Readonly<Record<string, string>>): HeaderTemplate[] {
  return Object.entries(headers).map(([name, value]) => {
    const parts: TemplatePart[] = [];
    let last = 0;
    for (const match of value.matchAll(/\{(email|user|groups|route)\}/g)) {
      if (match.index > last) parts.push({ literal: value.slice(last, match.index) });
      parts.push({ field: match[1] as 'email' | 'user' | 'groups' | 'route' });
      last = match.index + match[0].length;
    }
    if (last < value.length) parts.push({ literal: value.slice(last) });
    return {
      name: name.toLowerCase(),
      parts,
      needsIdentity: parts.some((part) => 'field' in part && part.field !== 'route'),
    };
  });
}

/**
 * Sets the identity headers (SPEC section 4) and the route's templates. Without an identity
 * (a public path, no session) templates that name the user are left out, never sent empty.
 */
export function setIdentityHeaders(
  headers: IncomingHttpHeaders,
  identity: Identity | undefined,
  routeName: string,
  templates: readonly HeaderTemplate[],
): void {
  if (identity) {
    headers['x-auth-request-email'] = identity.email;
    headers['x-auth-request-user'] = identity.email;
    headers['x-forwarded-email'] = identity.email;
    headers['x-forwarded-user'] = identity.email;
    headers['x-auth-request-groups'] = identity.groups.join(',');
  }
  for (const template of templates) {
    if (template.needsIdentity && !identity) continue;
    let value = '';
    for (const part of template.parts) {
      if ('literal' in part) value += part.literal;
      else if (part.field === 'route') value += routeName;
      else if (part.field === 'groups') value += identity!.groups.join(',');
      else value += identity!.email;
    }
    headers[template.name] = value;
  }
}
