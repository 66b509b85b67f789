/**
 * The one place that picks the KeyValueStore backend from `session.store` in gateway.yaml.
 * Everything else depends on the KeyValueStore interface only.
 */
import type { GatewayConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Clock, KeyValueStore } from './key-value-store.js';
import { createMemoryStore } from './memory-store.js';
import type { RedisTlsFiles, RedisTopology } from './redis-connection.js';
import { createRedisStore, type RedisStoreHandle } from './redis-store.js';

/** How many keys the memory store holds at most (about 100 MB; docs/security.md). */
export const MEMORY_STORE_MAX_ENTRIES = 200_000;

/**
 * The gateway's memory store: bounded, never evicting, and with code requests (`otp:` keys)
 * allowed three quarters of it, no more, so a flood of them leaves room for sessions and the
 * brute-force counters (`guard:`). `maxEntries` is for tests.
 */
export function createGatewayMemoryStore(options: { clock?: Clock; maxEntries?: number } = {}): KeyValueStore {
  const maxEntries = options.maxEntries ?? MEMORY_STORE_MAX_ENTRIES;
  return createMemoryStore({ clock: options.clock, maxEntries, quotas: [{ prefix: 'otp:', maxEntries: Math.floor(maxEntries * 0.75) }] });
}

/** What the store factory needs besides the config. */
export interface KeyValueStoreDeps {
  readonly logger?: Logger;
  /** Time source of the memory store (Redis keeps its own time). */
  readonly clock?: Clock;
}

/** The `session.store.redis` block of a validated config. */
type RedisStoreConfig = Extract<GatewayConfig['session']['store'], { redis: unknown }>['redis'];

/** How the config names the deployment: a Sentinel, a Cluster, or one server by URL. */
function topologyOf(redis: RedisStoreConfig): RedisTopology {
  if (redis.sentinel) return { kind: 'sentinel', name: redis.sentinel.name, nodes: redis.sentinel.nodes, password: redis.sentinel.password };
  if (redis.cluster) return { kind: 'cluster', nodes: redis.cluster.nodes };
  return { kind: 'standalone', url: redis.url ?? 'redis://127.0.0.1:6379' };
}

/** The TLS files, or undefined when TLS is off (a `rediss://` URL turns it on without files). */
function tlsOf(redis: RedisStoreConfig): RedisTlsFiles | undefined {
  if (redis.tls) return { ca: redis.tls.ca || undefined, cert: redis.tls.cert || undefined, key: redis.tls.key || undefined };
  return undefined;
}

/**
 * Creates the configured store: `memory`, or `{ redis: { url | sentinel | cluster, prefix, ... } }`.
 * Throws for any other kind, so a config that slipped past validation cannot silently fall
 * back to memory (which would split sessions and rate limits between gateways).
 * The Redis store is returned before it connects; see {@link createRedisStore}.
 */
export function createKeyValueStore(config: GatewayConfig['session']['store'], deps: KeyValueStoreDeps = {}): KeyValueStore | RedisStoreHandle {
  if (config === 'memory') return createGatewayMemoryStore({ clock: deps.clock });
  // Checked at run time too: the config type says this is all there is, but a caller may
  // hand us something built by hand.
  const redis: unknown = typeof config === 'object' && config !== null ? (config as { redis?: unknown }).redis : undefined;
  if (typeof redis === 'object' && redis !== null && typeof (redis as { prefix?: unknown }).prefix === 'string') {
    const settings = redis as RedisStoreConfig;
    return createRedisStore({ topology: topologyOf(settings), prefix: settings.prefix, password: settings.password, tls: tlsOf(settings), logger: deps.logger });
  }
  throw new Error(`unknown session store kind: ${describeKind(config)} (expected "memory" or { redis: { url, prefix } })`);
}

/** Names a store kind for an error message without echoing values (a URL may hold a password). */
function describeKind(config: unknown): string {
  if (typeof config === 'string') return JSON.stringify(config);
  if (typeof config === 'object' && config !== null) return `{ ${Object.keys(config).join(', ')} }`;
  return String(config);
}
