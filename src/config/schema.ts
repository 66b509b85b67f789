/**
 * The one schema of gateway.yaml. The TypeScript types (`GatewayConfig`), the defaults, the
 * validation messages and `config/gateway.schema.json` (for editors) all come from here;
 * there is no second hand-written description of the file. See SPEC.md section 2.
 *
 * Objects are strict: an unknown key is an error, because a typo such as `alow:` must never
 * silently weaken a route's protection.
 */
import { z } from 'zod';
import {
  normalizeEmailAddress,
  parseAllowPattern,
  parseCidr,
  parseDurationMs,
  parseListenAddress,
  parseRate,
  type AllowPattern,
  type Cidr,
  type ListenAddress,
  type Rate,
} from './values.js';
import { canonicalizeConfiguredPathText, normalizeRequestTarget } from '../paths/normalize-path.js';
import { compilePathGlob } from '../paths/path-glob.js';

/** A string parsed by `parse`; `expected` completes "must be …" in the error message. */
function parsedString<T>(parse: (text: string) => T | undefined, expected: string, description: string) {
  return z
    // A number where a string is expected (`timeout: 60`) gets the format, not "must be a string".
    .string({ error: (issue) => (issue.input === undefined ? undefined : `must be ${expected}`) })
    .describe(description)
    .transform((text, ctx): T => {
      const value = parse(text);
      if (value === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be ${expected}`, input: text });
        return z.NEVER;
      }
      return value;
    });
}

const duration = (description: string) =>
  parsedString(parseDurationMs, 'a duration like 90s, 10m, 24h or 7d', description);

/** `off` or a duration; `null` in the parsed config means off. */
const optionalDuration = (description: string) =>
  parsedString<number | null>(
    (text) => (text.trim() === 'off' ? null : parseDurationMs(text)),
    'a duration like 90s, 10m, 24h or 7d, or "off"',
    description,
  );

const rate = (description: string) =>
  parsedString<Rate>(parseRate, 'a rate like 5/1h (count per duration)', description);

const listenAddress = (description: string) =>
  parsedString<ListenAddress>(parseListenAddress, 'an address:port like 0.0.0.0:8080', description);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_TEMPLATE_FIELDS = new Set(['email', 'user', 'groups', 'route']);

/** An http(s) URL with no credentials, query or fragment. */
function httpUrl(text: string, allowPath: boolean): URL | undefined {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (!allowPath && url.pathname !== '/') return undefined;
  return url;
}

export interface RouteOrigin {
  /** `http:` or `https:` */
  readonly protocol: string;
  /** Lower-case host name without brackets (`::1`, not `[::1]`). */
  readonly hostname: string;
  readonly port: number;
  /** Path prefix without a trailing slash; `''` for the root. */
  readonly pathPrefix: string;
  /** `scheme://host[:port]` as browsers spell it. */
  readonly origin: string;
}

function parseFromUrl(text: string): RouteOrigin | undefined {
  const url = httpUrl(text, true);
  if (!url) return undefined;
  // The prefix is compared byte for byte with normalised request paths, so it must be in
  // that same form (`/%7ebob` becomes `/~bob`); one that cannot be normalised is an error.
  const pathPrefix = canonicalizeConfiguredPathText(url.pathname.replace(/\/+$/, ''));
  if (pathPrefix === undefined) return undefined;
  if (pathPrefix !== '') {
    const normalized = normalizeRequestTarget(pathPrefix);
    if (!normalized.ok || normalized.path !== pathPrefix) return undefined;
  }
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return {
    protocol: url.protocol,
    // parseHostHeader drops one trailing dot; the configured name must match that form.
    hostname: url.hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.$/, ''),
    port,
    pathPrefix,
    origin: url.origin,
  };
}

export type UpstreamTarget =
  | { readonly kind: 'builtin'; readonly name: 'whoami' }
  | {
      readonly kind: 'http';
      readonly protocol: 'http:' | 'https:';
      readonly hostname: string;
      readonly port: number;
      /** Base path without a trailing slash; `''` for none. */
      readonly basePath: string;
      readonly origin: string;
    };

function parseUpstream(text: string): UpstreamTarget | undefined {
  if (text.trim() === 'builtin:whoami') return { kind: 'builtin', name: 'whoami' };
  const url = httpUrl(text, true);
  if (!url) return undefined;
  return {
    kind: 'http',
    protocol: url.protocol as 'http:' | 'https:',
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    basePath: url.pathname.replace(/\/+$/, ''),
    origin: url.origin,
  };
}

const emailPattern = (allowGroupsAndInvited: boolean) =>
  parsedString<AllowPattern>(
    (text) => parseAllowPattern(text, allowGroupsAndInvited),
    allowGroupsAndInvited
      ? 'an email address, *@domain, group:NAME, invited or "*"'
      : 'an email address, *@domain or "*"',
    'who may sign in',
  );

const routeSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "_", "." or "-"')
    .describe('Unique route name, used in logs, metrics and the CLI'),
  from: parsedString(
    parseFromUrl,
    'an absolute http(s) URL like https://wiki.example.com/ (no query, credentials or dot segments)',
    'External URL: scheme, host[:port] and path prefix',
  ),
  to: parsedString(
    parseUpstream,
    'builtin:whoami or an http(s) URL like http://10.0.0.5:3000 (no query or credentials)',
    'Upstream app: builtin:whoami or http(s)://host:port[/base]; leave out for a route only reached through forward-auth',
  ).optional(),
  allow: z.array(emailPattern(true)).default([]).describe('Who may use the route'),
  public: z
    .array(
      z
        .string()
        .regex(/^\//, 'must be an absolute path glob starting with "/"')
        .superRefine((glob, ctx) => {
          try {
            compilePathGlob(glob);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: (error as Error).message, input: glob });
          }
        }),
    )
    .default([])
    .describe('Path globs (as the client sends them) that need no sign-in'),
  strip_prefix: z.boolean().default(false).describe('Drop the from-path prefix before forwarding'),
  preserve_host: z.boolean().default(false).describe("Send the client's Host upstream"),
  websockets: z.boolean().default(true).describe('Let WebSocket upgrades through'),
  timeout: duration('Upstream response timeout').prefault('60s'),
  headers: z
    .record(
      z.string().regex(HEADER_NAME, 'must be a valid HTTP header name'),
      z.string().refine(
        (value) =>
          [...value.matchAll(/\{([^}]*)\}/g)].every((m) => HEADER_TEMPLATE_FIELDS.has(m[1]!)) &&
          !/[\r\n\0]/.test(value),
        'may only use the placeholders {email}, {user}, {groups} and {route}, and no line breaks',
      ),
    )
    .default({})
    .describe('Extra request headers, e.g. {"X-Remote-User": "{email}"}'),
  tls: z
    .strictObject({
      ca: z.string().default('').describe('PEM file of a private CA for an https upstream'),
      insecure_skip_verify: z
        .boolean()
        .default(false)
        .describe('Accept any upstream certificate (man-in-the-middle risk)'),
    })
    .prefault({}),
  max_session_age: optionalDuration('An older sign-in must prove the inbox again here').prefault('off'),
  require: z
    .enum(['code', 'passkey'])
    .default('code')
    .describe('passkey: only sessions that used a passkey get in; a code session is asked to use or add one'),
  title: z
    .string()
    .max(80, 'must be at most 80 characters')
    .default('')
    .describe("The app's name on the sign-in pages and in mails; default: the route name"),
});

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** `host:port` (a name, an IPv4 address or a bracketed IPv6 address) as `{ host, port }`. */
const hostAndPort = z.string().transform((text, ctx) => {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: 'must be host:port, e.g. redis-sentinel-1:26379', input: text });
    return z.NEVER;
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
});

const redisNodes = z.array(hostAndPort).min(1, 'must list at least one host:port');

const redisStoreSchema = z.strictObject({
  redis: z
    .strictObject({
      url: z
        .string()
        // Checked here, not at the first connection: a `redis+sentinel://` or `redis-cluster://`
        // URL passed `check` and then crashed `serve`.
        .refine(isRedisUrl, 'must be a redis:// or rediss:// URL naming one Redis server (redis://host:6379/0); use sentinel or cluster for the others')
        .optional()
        .describe('redis:// or rediss:// URL of one Redis server; default redis://127.0.0.1:6379 unless sentinel or cluster is set'),
      sentinel: z
        .strictObject({
          name: z.string().min(1, 'must name the primary the sentinels watch (sentinel monitor <name> ...)').describe('The primary\'s name in the sentinels\' config'),
          nodes: redisNodes.describe('Sentinels as host:port; three or more'),
          password: z.string().optional().describe('Password of the sentinels themselves, if they require one'),
        })
        .optional()
        .describe('Find the primary through Redis Sentinel'),
      cluster: z
        .strictObject({ nodes: redisNodes.describe('Some of the cluster\'s nodes as host:port; the rest are discovered') })
        .optional()
        .describe('Redis Cluster'),
      prefix: z.string().default('gatehouse:').describe('Key prefix'),
      password: z.string().optional().describe('Password of the Redis servers (AUTH); a url may carry its own'),
      tls: z
        .strictObject({
          ca: z.string().default('').describe('PEM file of a private CA that signed the Redis servers\' certificates'),
          cert: z.string().default('').describe('PEM client certificate, for servers that require one'),
          key: z.string().default('').describe('PEM private key of the client certificate'),
        })
        .optional()
        .describe('TLS to Redis (and to the sentinels); with url, the url must be rediss://'),
    })
    .superRefine((redis, ctx) => {
      const named = (['url', 'sentinel', 'cluster'] as const).filter((key) => redis[key] !== undefined);
      if (named.length > 1) {
        ctx.addIssue({ code: 'custom', path: [named[1]!], message: `cannot be combined with ${named[0]}: name one Redis deployment (url, sentinel or cluster)`, input: redis[named[1]!] });
      }
      if (redis.tls && (redis.tls.cert === '') !== (redis.tls.key === '')) {
        ctx.addIssue({ code: 'custom', path: ['tls', redis.tls.cert === '' ? 'cert' : 'key'], message: 'cert and key go together: a client certificate needs its private key', input: redis.tls });
      }
      if (redis.tls && redis.url?.startsWith('redis:')) {
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'must be a rediss:// URL when tls is set', input: redis.url });
      }
    })
    .transform((redis) => (redis.sentinel || redis.cluster || redis.url ? redis : { ...redis, url: 'redis://127.0.0.1:6379' }))
    .prefault({}),
});

// Short secrets can be brute-forced offline from one signed cookie.
const secretString = z.string().min(32, 'must be at least 32 characters long');

const sessionSchema = z.strictObject({
  secret: z
    .union([secretString, z.array(secretString).min(1, 'must list at least one secret')])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    .describe('Signing secret(s), >= 32 characters; a list: first signs, all verify'),
  lifetime: duration('Absolute session lifetime').prefault('24h'),
  idle_timeout: optionalDuration('End a session after this long without a request').prefault('off'),
  cookie: z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-"').default('gatehouse'),
      domain: z.string().default(''),
      secure: z.union([z.literal('auto'), z.boolean()]).default('auto'),
      same_site: z.enum(['lax', 'strict', 'none']).default('lax'),
    })
    .prefault({}),
  store: z.union([z.literal('memory'), redisStoreSchema]).default('memory'),
});

const otpSchema = z.strictObject({
  // 8 by default: with 6, the wrong-code budget per client that keeps an attacker with 1,000
  // addresses under 1 % in 30 days would be 10 a month (docs/security.md).
  digits: z.number().int().min(6).max(10).default(8).describe('Digits of a sign-in code'),
  ttl: duration('A code expires this long after it was sent').prefault('10m'),
  max_attempts: z.number().int().min(1).max(100).default(5),
  resend_after: duration('Earliest resend for the same email').prefault('30s'),
  max_per_email: rate('Codes sent to one address per window').prefault('5/1h'),
  max_per_ip: rate('Code requests from one client address per window').prefault('30/1h'),
  max_failures_per_email: rate('Wrong codes for one address, then locked').prefault('10/1h'),
  max_failures_per_ip: rate('Wrong codes from one client address (IPv6: per /64), then locked').prefault('20/24h'),
});

/** `smtp://` or `smtps://` with a host; credentials are allowed (they are never echoed). */
function isSmtpUrl(text: string): boolean {
  try {
    const url = new URL(text.trim());
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '';
  } catch {
    return false;
  }
}

const smtpSchema = z.strictObject({
  url: z
    .string()
    .refine(isSmtpUrl, 'must be a URL like smtp://user:password@mail.example.com:587 (or smtps://)')
    .optional(),
  host: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  secure: z.boolean().optional(),
  auth: z.strictObject({ user: z.string(), pass: z.string() }).optional(),
  tls: z.strictObject({ ca: z.string().default('') }).prefault({}),
});

const mailSchema = z.strictObject({
  from: z.string().default('Gatehouse <no-reply@example.com>'),
  transport: z.enum(['log', 'smtp']).default('log'),
  smtp: smtpSchema.optional(),
});

const brandingSchema = z.strictObject({
  title: z.string().default('').describe('Heading of the sign-in page; default: "Sign in to <app>" in the guest\'s language'),
  language: z
    .enum(['auto', 'en', 'de', 'fr'])
    .default('auto')
    .describe("Language of pages and mails: auto follows the browser's Accept-Language"),
  product_name: z.string().default('Gatehouse'),
  logo_url: z.string().default(''),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?$/, 'must be a colour like #2563eb')
    .default('#2563eb'),
});

const ASSERTION_TTL_MAX_MS = 5 * 60_000;
/** The assertion header replaces every client copy of its name: never one of these. */
const HEADERS_THE_ASSERTION_MAY_NOT_REPLACE = new Set(['host', 'cookie', 'authorization', 'content-length', 'transfer-encoding', 'connection', 'upgrade']);

const assertionSchema = z.strictObject({
  enabled: z.boolean().default(true).describe('Send the signed identity (a JWT) with every signed-in request and forward-auth answer'),
  header: z
    .string()
    .regex(HEADER_NAME, 'must be a valid HTTP header name')
    .default('X-Gatehouse-Assertion')
    .describe('Request header that carries the signed identity'),
  ttl: duration('How long one assertion is valid (at most 5m)')
    .prefault('5m')
    .refine((ms) => ms >= 10_000 && ms <= ASSERTION_TTL_MAX_MS, 'must be between 10s and 5m'),
  key_file: z.string().default('').describe('PEM file of EC P-256 private keys: the first signs, all are published; default: generated once and kept in the store'),
  rotation_grace: duration('How long a replaced key stays published after `gatehouse keys rotate`').prefault('24h'),
});

export const gatewayConfigSchema = z
  .strictObject({
    listen: listenAddress('Address:port of the gateway').prefault('0.0.0.0:8080'),
    workers: z
      .union([z.literal('auto'), z.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256')])
      .default(1)
      .describe('Processes serving requests: a number, or "auto" for one per CPU core (needs the Redis store when more than 1)'),
    trust_proxy: z
      .array(parsedString<Cidr>(parseCidr, 'a CIDR like 10.0.0.0/8 or an IP address', 'Trusted proxy network'))
      .default([])
      .describe('CIDRs whose X-Forwarded-For/-Proto/-Host are believed'),
    admin: z
      .strictObject({
        listen: parsedString<ListenAddress | null>(
          (text) => (text.trim() === 'off' ? null : parseListenAddress(text)),
          'an address:port like 127.0.0.1:9090, or "off"',
          'Admin listener (/healthz, /readyz, /metrics, admin API)',
        ).prefault('127.0.0.1:9090'),
        token: z.string().default('').describe('Admin API bearer token'),
      })
      .prefault({}),
    invitations: z
      .strictObject({ file: z.string().optional().describe('YAML list of invited guests') })
      .prefault({}),
    session: sessionSchema.prefault({}),
    otp: otpSchema.prefault({}),
    mail: mailSchema.prefault({}),
    groups: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, "_", "." or "-"'), z.array(emailPattern(false))).default({}),
    branding: brandingSchema.prefault({}),
    assertion: assertionSchema.prefault({}),
    routes: z.array(routeSchema).min(1, 'must list at least one route'),
  })
  .superRefine((config, ctx) => {
    const names = new Map<string, number>();
    const fromKeys = new Map<string, number>();
    config.routes.forEach((route, index) => {
      const previous = names.get(route.name);
      if (previous !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'name'], message: `duplicates routes[${previous}].name`, input: route.name });
      } else names.set(route.name, index);

      const key = `${route.from.hostname}:${route.from.port}${route.from.pathPrefix}`;
      const previousFrom = fromKeys.get(key);
      if (previousFrom !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'from'], message: `has the same host and path as routes[${previousFrom}].from`, input: key });
      } else fromKeys.set(key, index);

      const everythingPublic = route.public.some((glob) => glob === '/**' || glob === `${route.from.pathPrefix}/**`);
      if (route.allow.length === 0 && !everythingPublic) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes', index, 'allow'],
          message: 'must name who may sign in (an empty allow list is only valid when public covers the whole route)',
          input: [],
        });
      }
      route.allow.forEach((pattern, patternIndex) => {
        if (pattern.kind === 'group' && !(pattern.group in config.groups)) {
          ctx.addIssue({ code: 'custom', path: ['routes', index, 'allow', patternIndex], message: `names group "${pattern.group}", which is not defined under groups`, input: `group:${pattern.group}` });
        }
        if (pattern.kind === 'invited' && !config.invitations.file) {
          ctx.addIssue({ code: 'custom', path: ['routes', index, 'allow', patternIndex], message: 'uses "invited" but invitations.file is not set', input: 'invited' });
        }
      });
      if (route.to?.kind !== 'http' && (route.tls.ca || route.tls.insecure_skip_verify)) {
        const message = route.to ? 'only applies to https upstreams, not builtin:whoami' : 'only applies to https upstreams; this route has no "to"';
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'tls'], message, input: route.tls });
      }
    });

    if (config.workers !== 1 && config.session.store === 'memory') {
      // Each worker would keep its own sessions and codes: a guest signed in on one worker
      // would be a stranger to the next.
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'must be 1 with the memory session store; use session.store redis to run several workers', input: config.workers });
    }
    if (config.session.secret.length === 0 && config.session.store !== 'memory') {
      ctx.addIssue({ code: 'custom', path: ['session', 'secret'], message: 'is required when sessions are kept in Redis (e.g. secret: ${GATEHOUSE_SECRET})', input: undefined });
    }
    if (config.session.cookie.same_site === 'none' && config.session.cookie.secure === false) {
      ctx.addIssue({ code: 'custom', path: ['session', 'cookie', 'same_site'], message: 'can only be "none" when cookie.secure is not false (browsers reject it)', input: 'none' });
    }
    if (config.mail.transport === 'smtp' && !config.mail.smtp?.url && !config.mail.smtp?.host) {
      ctx.addIssue({ code: 'custom', path: ['mail', 'smtp'], message: 'needs a url or a host when transport is smtp', input: config.mail.smtp });
    }
    if (config.assertion.rotation_grace < config.assertion.ttl) {
      // An assertion signed just before a rotation must still verify until it expires.
      ctx.addIssue({ code: 'custom', path: ['assertion', 'rotation_grace'], message: 'must be at least assertion.ttl', input: config.assertion.rotation_grace });
    }
    if (HEADERS_THE_ASSERTION_MAY_NOT_REPLACE.has(config.assertion.header.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['assertion', 'header'], message: 'must not be a header the request itself needs (Host, Cookie, Authorization, framing)', input: config.assertion.header });
    }
    const admin = config.admin.listen;
    if (admin && config.listen.port === admin.port && config.listen.port !== 0) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'listen'], message: 'must use another port than listen', input: admin });
    }
  });

/** The validated, defaulted configuration the gateway runs on. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** What a user may write in gateway.yaml. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
export type RouteConfig = GatewayConfig['routes'][number];

/** The app's name as guests read it on pages and in mails: the route's `title`, else its `name`. */
export function appNameOf(route: RouteConfig): string {
  return route.title || route.name;
}

export { normalizeEmailAddress };
