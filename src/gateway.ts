/**
 * `buildGateway(config, deps)` assembles a gateway without listening: the guests' server,
 * the admin server, the proxy and the built-in upstreams. `main.ts` listens and wires
 * signals; tests call this directly.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayConfig } from './config/schema.js';
import type { Logger } from './log/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics/metrics.js';
import { buildGatewayState, type GatewayState } from './gateway-state.js';
import { createUpstreamAgentPool } from './proxy/upstream-agents.js';
import { createProxyEngine } from './proxy/proxy-engine.js';
import { startWhoamiServer } from './upstreams/whoami.js';
import { createRequestHandler } from './http/handle-request.js';
import { createUpgradeHandler } from './http/handle-upgrade.js';
import { createGatehouseApp } from './http/gatehouse-app.js';
import { requestContextOf } from './http/request-context.js';
import { createAdminApp } from './admin/admin-app.js';

/** A listener could not be opened; `address` says which (`host:port`). */
export class ListenError extends Error {
  constructor(
    readonly address: string,
    readonly code: string | undefined,
    cause: Error,
  ) {
    super(cause.message, { cause });
    this.name = 'ListenError';
  }
}

function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

export interface GatewayDeps {
  readonly logger: Logger;
  /** Process metrics (CPU, memory, event loop) are on unless turned off (tests). */
  readonly collectProcessMetrics?: boolean;
}

export interface ListeningAddresses {
  readonly port: number;
  /** Undefined when the admin listener is off. */
  readonly adminPort: number | undefined;
}

export interface Gateway {
  readonly server: http.Server;
  readonly adminServer: http.Server | undefined;
  readonly metrics: GatewayMetrics;
  /** The config requests are served with now. */
  config(): GatewayConfig;
  /** Listens on `listen` and `admin.listen` (port 0 picks a free port). */
  listen(): Promise<ListeningAddresses>;
  /** Serves new requests with `config`; requests in flight finish on the old one. */
  reload(config: GatewayConfig): void;
  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what
   * is left (WebSockets included) and the built-in upstreams.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Settings that only take effect at start; a reload that changes them says so. */
function restartOnlySettings(config: GatewayConfig): string {
  return JSON.stringify([config.listen, config.admin.listen]);
}

export async function buildGateway(initialConfig: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps;
  const metrics = createGatewayMetrics({ collectProcessMetrics: deps.collectProcessMetrics });
  const agents = createUpstreamAgentPool();
  const proxy = createProxyEngine();
  const whoami = await startWhoamiServer();
  const builtins = { whoami: whoami.port };

  let state: GatewayState = buildGatewayState(initialConfig, agents, builtins);
  let draining = false;
  const getState = () => state;
  const openWebSockets = new Set<Duplex>();

  const gatehouseApp = createGatehouseApp({
    getPageSettings: () => ({ branding: state.config.branding, pageHeaders: state.pageHeaders }),
    requestIdOf: (req) => requestContextOf(req)?.requestId ?? '-',
  });
  const server = http.createServer(
    createRequestHandler({
      getState,
      proxy,
      metrics,
      logger,
      gatehousePages: (req, res) => gatehouseApp(req, res),
      isDraining: () => draining,
      // While draining, a keep-alive connection whose last response just ended is closed
      // now rather than at keepAliveTimeout, so shutdown does not wait for idle clients.
      onRequestDone: () => {
        if (draining) setImmediate(() => server.closeIdleConnections());
      },
    }),
  );
  server.on('upgrade', createUpgradeHandler({ getState, proxy, metrics, logger, openSockets: openWebSockets }));
  // Malformed HTTP (bad framing, oversized headers): a plain 400, never a stack trace.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  // Above common load balancers' idle timeouts (60 s), so they close first and never race us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // uploads of any size: the route timeout guards upstream silence

  const adminServer =
    initialConfig.admin.listen === null
      ? undefined
      : http.createServer(
          createAdminApp({
            registry: metrics.registry,
            readinessChecks: [
              { name: 'config', check: () => (state.routes.length > 0 ? '' : 'no routes') },
              { name: 'shutdown', check: () => (draining ? 'draining' : '') },
            ],
          }),
        );

  async function listenOn(target: http.Server, address: { host: string; port: number }): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(new ListenError(formatAddress(address), error.code, error));
      target.once('error', onError);
      target.listen(address.port, address.host, () => {
        target.off('error', onError);
        resolve();
      });
    });
    return (target.address() as AddressInfo).port;
  }

  return {
    server,
    adminServer,
    metrics,
    config: () => state.config,
    async listen() {
      const port = await listenOn(server, state.config.listen);
      let adminPort: number | undefined;
      if (adminServer && state.config.admin.listen) {
        try {
          adminPort = await listenOn(adminServer, state.config.admin.listen);
        } catch (error) {
          server.close();
          throw error;
        }
      }
      return { port, adminPort };
    },
    reload(config) {
      if (restartOnlySettings(config) !== restartOnlySettings(state.config)) {
        logger.warn({ event: 'config.restart_needed' }, 'listen and admin.listen changes take effect after a restart');
      }
      state = buildGatewayState(config, agents, builtins);
    },
    async shutdown(graceMs) {
      draining = true;
      const closed = Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        adminServer?.listening ? new Promise<void>((resolve) => adminServer.close(() => resolve())) : Promise.resolve(),
      ]);
      server.closeIdleConnections();
      adminServer?.closeIdleConnections();
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      const outcome = await Promise.race([closed.then(() => 'done' as const), deadline]);
      if (outcome === 'timeout') {
        logger.warn({ event: 'shutdown.forced', grace_ms: graceMs }, 'requests still running at the end of the grace period were cut');
        server.closeAllConnections();
        adminServer?.closeAllConnections();
      }
      for (const socket of openWebSockets) socket.destroy();
      await closed;
      proxy.close();
      agents.destroyAll();
      await whoami.close();
    },
  };
}
