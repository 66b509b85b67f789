/**
 * The headers that tell the app who the user is, plus the route's own `headers:`. They are
 * added only to a header block that has none of the client's copies (see
 * upstream-request-headers.ts).
 */
export interface Identity {
  readonly email: string;
  /** Names of the route's groups that matched this address. */
  readonly groups: readonly string[];
}

type TemplatePart = { readonly literal: string } | { readonly field: 'email' | 'user' | 'groups' | 'route' };

export interface HeaderTemplate {
  /** As configured (header names are case-insensitive; legacy apps may not be). */
  readonly name: string;
  readonly parts: readonly TemplatePart[];
  readonly needsIdentity: boolean;
  /** The configured header has the name of an identity header, whose value it replaces. */
  readonly replacesIdentityHeader: boolean;
}

/** The identity headers set for a signed-in request, in the order they are sent. */
export const IDENTITY_HEADERS: readonly string[] = ['X-Auth-Request-Email', 'X-Auth-Request-User', 'X-Forwarded-Email', 'X-Forwarded-User', 'X-Auth-Request-Groups'];
const IDENTITY_HEADER_SET = new Set(IDENTITY_HEADERS.map((name) => name.toLowerCase()));

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
      name,
      parts,
      needsIdentity: parts.some((part) => 'field' in part && part.field !== 'route'),
      replacesIdentityHeader: IDENTITY_HEADER_SET.has(name.toLowerCase()),
    };
  });
}

/**
 * Appends the identity headers (SPEC section 4) and the route's templates to a flat
 * `[name, value, ...]` header list. Without an identity (a public path, no session)
 * templates that name the user are left out, never sent empty.
 */
export function appendIdentityHeaders(
  headers: string[],
  identity: Identity | undefined,
  routeName: string,
  templates: readonly HeaderTemplate[],
): void {
  const identityAt = headers.length;
  if (identity) {
    const { email } = identity;
    headers.push(IDENTITY_HEADERS[0]!, email, IDENTITY_HEADERS[1]!, email, IDENTITY_HEADERS[2]!, email, IDENTITY_HEADERS[3]!, email);
    headers.push(IDENTITY_HEADERS[4]!, identity.groups.join(','));
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
    if (template.replacesIdentityHeader && identity) {
      // The route's own value wins over the default identity header of that name.
      const at = identityAt + 2 * IDENTITY_HEADERS.findIndex((name) => name.toLowerCase() === template.name.toLowerCase());
      headers[at] = template.name;
      headers[at + 1] = value;
    } else {
      headers.push(template.name, value);
    }
  }
}
