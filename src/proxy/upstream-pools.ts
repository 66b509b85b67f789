/**
 * One pooled undici client per upstream (and TLS settings and timeout), so connections to an
 * app are reused instead of paying a TCP (and TLS) handshake per request. Pools outlive config
 * reloads when the upstream did not change.
 *
 * undici's `Pool` rather than Node's `http.Agent` with `http.request`: its HTTP/1.1 client
 * parses responses with llhttp in WebAssembly and hands the body over as views of the socket's
 * own reads, without an IncomingMessage stream per response. On one core that halves the CPU
 * a proxied request costs the gateway (docs/performance.md, "Levers").
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { UpstreamTarget } from '../config/schema.js';

export type HttpUpstream = Extract<UpstreamTarget, { kind: 'http' }>;

export interface UpstreamTls {
  /** Absolute path of a PEM CA bundle, or ''. */
  readonly ca: string;
  readonly insecureSkipVerify: boolean;
}

export interface UpstreamPools {
  /** The pool for an upstream, made on first use; `connectTimeoutMs` bounds its TCP and TLS handshakes. */
  poolFor(upstream: HttpUpstream, tls: UpstreamTls, connectTimeoutMs: number): Pool;
  /** Closes pools whose upstream is no longer configured (after a reload) once their requests are done. */
  retainOnly(pools: ReadonlySet<Pool>): void;
  /** Closes every connection at once (shutdown, after the requests have drained). */
  destroyAll(): Promise<void>;
}

// Enough connections for a busy app, bounded so one slow app cannot exhaust file descriptors.
const MAX_CONNECTIONS_PER_UPSTREAM = 1024;
// Idle pooled connections are closed before typical app servers' keep-alive timeouts (Node:
// 5 s) would close them under us, whatever longer `Keep-Alive: timeout` the app announces.
const IDLE_CONNECTION_TIMEOUT_MS = 4_000;

export function createUpstreamPools(): UpstreamPools {
  const pools = new Map<string, Pool>();
  return {
    poolFor(upstream, tls, connectTimeoutMs) {
      const key = `${upstream.origin}|${tls.ca}|${tls.insecureSkipVerify}|${connectTimeoutMs}`;
      let pool = pools.get(key);
      if (!pool) {
        pool = new Pool(upstream.origin, {
          connections: MAX_CONNECTIONS_PER_UPSTREAM,
          keepAliveTimeout: IDLE_CONNECTION_TIMEOUT_MS,
          keepAliveMaxTimeout: IDLE_CONNECTION_TIMEOUT_MS,
          // The request's own timers (proxy-engine.ts) bound waiting for the app.
          headersTimeout: 0,
          bodyTimeout: 0,
          connect: {
            timeout: connectTimeoutMs,
            ...(upstream.protocol === 'https:' ? { ca: tls.ca ? readFileSync(tls.ca) : undefined, rejectUnauthorized: !tls.insecureSkipVerify } : {}),
          },
        });
        pools.set(key, pool);
      }
      return pool;
    },
    retainOnly(keep) {
      for (const [key, pool] of pools) {
        if (keep.has(pool)) continue;
        pools.delete(key);
        // In-flight requests finish on their connections; then the pool closes.
        void pool.close();
      }
    },
    async destroyAll() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.destroy()));
    },
  };
}
