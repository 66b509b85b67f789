/**
 * The connection to Redis, whichever way it is deployed: one server (`url`), a primary found
 * through Redis Sentinel, or a Redis Cluster. node-redis has a client for each; this module
 * builds the right one from the config, keeps it connected, and hands the store the few
 * commands it sends (each names exactly one key, so a Cluster routes every command by its own
 * key and no two keys ever have to live in one slot).
 *
 * Connecting never blocks start-up and is retried for ever with backoff:
 * - a standalone client reconnects by itself (node-redis' reconnectStrategy);
 * - a Cluster client whose first discovery fails (no root node answers) is asked again;
 * - a Sentinel client whose first discovery fails cannot be reopened, so a new one is made.
 * Once connected, the Sentinel client follows failovers itself (the sentinels' `+switch-master`,
 * and a `READONLY` answer from a demoted primary makes it rediscover and retry), and the Cluster
 * client follows `MOVED`/`ASK` redirections.
 */
import { readFileSync } from 'node:fs';
import { createClient, createCluster, createSentinel, type RedisClientOptions } from 'redis';
import { GUARDED_TLS_SOCKET, guardRedisTlsSockets } from './tls-socket-guard.js';

/** A `host:port` of the config. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** How Redis is deployed (`session.store.redis` minus prefix, password and tls). */
export type RedisTopology =
  | { readonly kind: 'standalone'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly name: string; readonly nodes: readonly RedisNodeAddress[]; readonly password?: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly RedisNodeAddress[] };

/** PEM files for TLS to Redis: a private CA, and a client certificate with its key. */
export interface RedisTlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface RedisConnectionOptions {
  readonly topology: RedisTopology;
  /** The data nodes' password (AUTH); a standalone URL may carry its own. */
  readonly password?: string;
  /** TLS to every node (sentinels included) when set; a `rediss://` URL turns it on too. */
  readonly tls?: RedisTlsFiles;
  /** Told once per failed attempt and per lost connection. */
  readonly onError: (reason: string) => void;
  /** Told when the client (re)connected and can take commands. */
  readonly onReady: () => void;
}

/** The commands the store sends. Each one names one key (a Cluster routes it by that key). */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { expiration: { type: 'PX'; value: number }; condition?: 'NX' | 'XX' }): Promise<string | null>;
  getDel(key: string): Promise<string | null>;
  del(key: string): Promise<number>;
  eval(script: string, options: { keys: string[]; arguments?: string[] }): Promise<unknown>;
  pTTL(key: string): Promise<number>;
  sRem(key: string, member: string): Promise<number>;
  sMembers(key: string): Promise<string[]>;
}

export interface RedisConnection {
  /** Commands on the current client; they reject while it is not connected. */
  readonly commands: RedisCommands;
  /** Where Redis is, without credentials, for logs: `redis://host:6379`, `sentinel mymaster (h:26379, …)`. */
  readonly where: string;
  readonly kind: RedisTopology['kind'];
  /** True while commands can be sent. */
  isReady(): boolean;
  /** Resolves when every node the gateway writes to answers PING. */
  ping(): Promise<void>;
  /** `redis_mode` of a standalone server (`standalone`, `sentinel`, `cluster`); undefined for the others. */
  serverMode(): Promise<string | undefined>;
  /**
   * For a Sentinel deployment: whether the primary refuses writes while no replica is attached
   * (`min-replicas-to-write`). Without it, writes taken by a primary that has just been replaced
   * are thrown away when it rejoins as a replica. Undefined for the other deployments.
   */
  refusesUnreplicatedWrites(): Promise<boolean | undefined>;
  /** Drops every connection at once and stops reconnecting. */
  destroy(): void;
}

/** Reconnect quickly at first, then every 2 s at most, forever: Redis coming back must be noticed. */
export function reconnectDelayMs(retries: number): number {
  return Math.min(retries * 100, 2_000);
}

const CONNECT_TIMEOUT_MS = 2_000;

/**
 * The URL without its credentials, for logs and error messages: `redis://host:port/db`.
 * A password in a log line would be readable by everyone who can read the logs.
 */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname === '/' ? '' : parsed.pathname;
    return `${parsed.protocol}//${parsed.host}${database}`;
  } catch {
    return '(invalid Redis URL)';
  }
}

export function describeTopology(topology: RedisTopology): string {
  const list = (nodes: readonly RedisNodeAddress[]): string => nodes.map((node) => `${node.host}:${node.port}`).join(', ');
  if (topology.kind === 'standalone') return describeRedisUrl(topology.url);
  if (topology.kind === 'sentinel') return `sentinel ${topology.name} (${list(topology.nodes)})`;
  return `cluster (${list(topology.nodes)})`;
}

/** node-redis socket TLS options from the PEM files; read once, at start-up and reload. */
interface TlsSocketOptions {
  tls: true;
  [GUARDED_TLS_SOCKET]: true;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function tlsSocketOptions(tls: RedisTlsFiles | undefined): TlsSocketOptions | undefined {
  if (!tls) return undefined;
  guardRedisTlsSockets();
  return {
    tls: true,
    [GUARDED_TLS_SOCKET]: true,
    ...(tls.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls.key ? { key: readFileSync(tls.key) } : {}),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Options every node client shares: no offline queue (a command for a disconnected node
 * fails at once instead of waiting for a reconnect: a waiting request is a hung request), a
 * connect timeout, the backoff, TLS and the password.
 */
function nodeClientOptions(options: RedisConnectionOptions, stopped: () => boolean = () => false): RedisClientOptions {
  // A rediss:// URL without a tls block is TLS with the system's CAs.
  const rediss = options.topology.kind === 'standalone' && options.topology.url.startsWith('rediss:');
  const tls = tlsSocketOptions(options.tls ?? (rediss ? {} : undefined));
  return {
    disableOfflineQueue: true,
    ...(options.password ? { password: options.password } : {}),
    // Stops once the connection is destroyed: a client of the Sentinel or Cluster client that
    // cannot get in (a wrong password) would otherwise retry for ever after close().
    socket: { reconnectStrategy: (retries: number) => (stopped() ? false : reconnectDelayMs(retries)), connectTimeout: CONNECT_TIMEOUT_MS, ...tls },
  };
}

/** Builds the connection and starts connecting in the background. */
export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const { topology } = options;
  if (topology.kind === 'sentinel') return createSentinelConnection(options, topology);
  if (topology.kind === 'cluster') return createClusterConnection(options, topology);
  return createStandaloneConnection(options, topology.url);
}

function createStandaloneConnection(options: RedisConnectionOptions, url: string): RedisConnection {
  const where = describeRedisUrl(url);
  const base = nodeClientOptions(options);
  let client: ReturnType<typeof createClient>;
  try {
    // TLS options are there only for a rediss:// URL: the schema refuses tls with redis://.
    client = createClient({ ...base, url });
  } catch (error) {
    // The original error may quote the URL, password included: say what is wrong without it.
    const reason = messageOf(error).replace(url, where);
    // No `cause` on purpose: it would carry the URL with its password.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`session.store.redis.url is not a usable Redis URL (${where}): ${reason}`);
  }
  // node-redis emits 'error' on every failed (re)connect attempt; without a listener Node
  // would crash the process on the first one.
  client.on('error', (error: unknown) => options.onError(messageOf(error)));
  client.on('ready', options.onReady);
  // Not awaited: it settles only once connected (it retries forever), and start-up must not
  // wait for Redis. It can still reject, e.g. on a URL problem found while connecting.
  client.connect().catch((error: unknown) => options.onError(messageOf(error)));
  const commands: RedisCommands = client;
  return {
    commands,
    where,
    kind: 'standalone',
    isReady: () => client.isReady,
    async ping() {
      await client.ping();
    },
    async serverMode() {
      const info = await client.info('server');
      return /^redis_mode:(\w+)/m.exec(info)?.[1] ?? 'standalone';
    },
    refusesUnreplicatedWrites: () => Promise.resolve(undefined),
    destroy() {
      // destroy, not close: close() waits for replies to pending commands, which hangs on a
      // Redis that stopped answering.
      if (client.isOpen) client.destroy();
    },
  };
}

/** Calls `attempt` until it resolves, waiting the backoff between tries; stops once `stopped()`. */
function retryUntilConnected(attempt: () => Promise<void>, onError: (reason: string) => void, stopped: () => boolean): void {
  let retries = 0;
  const run = (): void => {
    if (stopped()) return;
    attempt().catch((error: unknown) => {
      if (stopped()) return;
      onError(messageOf(error));
      retries += 1;
      setTimeout(run, Math.max(reconnectDelayMs(retries), 200)).unref();
    });
  };
  run();
}

function createSentinelConnection(options: RedisConnectionOptions, topology: Extract<RedisTopology, { kind: 'sentinel' }>): RedisConnection {
  const where = describeTopology(topology);
  let destroyed = false;
  const nodeOptions = nodeClientOptions(options, () => destroyed);
  const tls = tlsSocketOptions(options.tls);
  const make = (): ReturnType<typeof createSentinel> => {
    const sentinel = createSentinel({
      name: topology.name,
      sentinelRootNodes: topology.nodes.map((node) => ({ host: node.host, port: node.port })),
      nodeClientOptions: nodeOptions,
      sentinelClientOptions: {
        ...(topology.password ? { password: topology.password } : {}),
        socket: { connectTimeout: CONNECT_TIMEOUT_MS, ...tls },
      },
      // A failed discovery is retried by retryUntilConnected, with our own backoff.
      maxCommandRediscovers: 4,
      passthroughClientErrorEvents: true,
    });
    sentinel.on('error', (error: unknown) => options.onError(messageOf(error)));
    return sentinel;
  };
  let sentinel = make();
  retryUntilConnected(
    async () => {
      try {
        await sentinel.connect();
      } catch (error) {
        // A Sentinel client whose first connect failed stays half-open: start afresh.
        const failed = sentinel;
        sentinel = make();
        void failed.destroy().catch(() => undefined);
        throw error;
      }
      // The Sentinel client has no 'ready' event: connect() resolving is the moment.
      options.onReady();
    },
    options.onError,
    () => destroyed,
  );
  const commands: RedisCommands = {
    get: (key) => sentinel.get(key),
    set: (key, value, setOptions) => sentinel.set(key, value, setOptions),
    getDel: (key) => sentinel.getDel(key),
    del: (key) => sentinel.del(key),
    eval: (script, evalOptions) => sentinel.eval(script, evalOptions),
    pTTL: (key) => sentinel.pTTL(key),
    sRem: (key, member) => sentinel.sRem(key, member),
    sMembers: (key) => sentinel.sMembers(key),
  };
  return {
    commands,
    where,
    kind: 'sentinel',
    isReady: () => sentinel.isReady,
    async ping() {
      await sentinel.ping();
    },
    serverMode: () => Promise.resolve(undefined),
    async refusesUnreplicatedWrites() {
      // INFO shows min_slaves_good_slaves only while min-replicas-to-write is on.
      return /^min_slaves_good_slaves:/m.test(await sentinel.info('replication'));
    },
    destroy() {
      destroyed = true;
      void sentinel.destroy().catch(() => undefined);
    },
  };
}

function createClusterConnection(options: RedisConnectionOptions, topology: Extract<RedisTopology, { kind: 'cluster' }>): RedisConnection {
  const where = describeTopology(topology);
  let destroyed = false;
  const cluster = createCluster({
    rootNodes: topology.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    defaults: nodeClientOptions(options, () => destroyed),
  });
  let connected = false;
  cluster.on('error', (error: unknown) => options.onError(messageOf(error)));
  cluster.on('node-error', (error: unknown) => options.onError(messageOf(error)));
  retryUntilConnected(
    async () => {
      await cluster.connect();
      connected = true;
      options.onReady();
    },
    options.onError,
    () => destroyed,
  );
  const commands: RedisCommands = cluster;
  return {
    commands,
    where,
    kind: 'cluster',
    isReady: () => connected && cluster.isOpen,
    async ping() {
      // Every primary holds a share of the sessions: the gateway is ready only when all answer.
      const masters = cluster.masters;
      if (masters.length === 0) throw new Error('the cluster has no primaries');
      await Promise.all(
        masters.map(async (master) => {
          const client = await cluster.nodeClient(master);
          await client.ping();
        }),
      );
    },
    serverMode: () => Promise.resolve(undefined),
    refusesUnreplicatedWrites: () => Promise.resolve(undefined),
    destroy() {
      destroyed = true;
      if (cluster.isOpen) cluster.destroy();
    },
  };
}
