/**
 * One keep-alive agent per upstream (and TLS settings), so connections to an app are reused
 * instead of paying a TCP (and TLS) handshake per request. Agents outlive config reloads
 * when the upstream did not change.
 */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { UpstreamTarget } from '../config/schema.js';

export type HttpUpstream = Extract<UpstreamTarget, { kind: 'http' }>;

export interface UpstreamTls {
  /** Absolute path of a PEM CA bundle, or ''. */
  readonly ca: string;
  readonly insecureSkipVerify: boolean;
}

export interface UpstreamAgentPool {
  /** The agent for an upstream, made on first use. */
  agentFor(upstream: HttpUpstream, tls: UpstreamTls): http.Agent;
  /** Forgets agents whose upstream is no longer configured (after a reload); their idle sockets time out. */
  retainOnly(agents: ReadonlySet<http.Agent>): void;
  destroyAll(): void;
}

// Enough sockets for a busy app, bounded so one slow app cannot exhaust file descriptors.
const MAX_SOCKETS_PER_UPSTREAM = 1024;
const MAX_FREE_SOCKETS_PER_UPSTREAM = 256;
// Idle pooled sockets are closed before typical app servers' keep-alive timeouts (Node: 5 s)
// would close them under us.
const FREE_SOCKET_TIMEOUT_MS = 4_000;

export function createUpstreamAgentPool(): UpstreamAgentPool {
  const agents = new Map<string, http.Agent>();
  return {
    agentFor(upstream, tls) {
      const key = `${upstream.origin}|${tls.ca}|${tls.insecureSkipVerify}`;
      let agent = agents.get(key);
      if (!agent) {
        const options = {
          keepAlive: true,
          maxSockets: MAX_SOCKETS_PER_UPSTREAM,
          maxFreeSockets: MAX_FREE_SOCKETS_PER_UPSTREAM,
          timeout: FREE_SOCKET_TIMEOUT_MS,
          scheduling: 'lifo' as const,
        };
        agent =
          upstream.protocol === 'https:'
            ? new https.Agent({
                ...options,
                ca: tls.ca ? readFileSync(tls.ca) : undefined,
                rejectUnauthorized: !tls.insecureSkipVerify,
              })
            : new http.Agent(options);
        agents.set(key, agent);
      }
      return agent;
    },
    retainOnly(keep) {
      for (const [key, agent] of agents) {
        // In-flight requests keep their sockets; pooled ones close after FREE_SOCKET_TIMEOUT_MS.
        if (!keep.has(agent)) agents.delete(key);
      }
    },
    destroyAll() {
      for (const agent of agents.values()) agent.destroy();
      agents.clear();
    },
  };
}
