/**
 * `gatehouse serve`: load and check the config, listen, and handle signals (SIGTERM/SIGINT:
 * graceful shutdown; SIGHUP: reload, keeping the old config if the new one is invalid).
 */
import { loadConfigFile, ConfigError } from './config/load-config.js';
import { createLogger, type Logger } from './log/logger.js';
import { buildGateway, ListenError, type Gateway } from './gateway.js';
import { describeListenError, formatListenAddress } from './lib/describe-listen-error.js';
import { takeHandedConnections } from './cluster/cluster-worker.js';
import cluster from 'node:cluster';
import { dirname } from 'node:path';
import { InvitationFileError } from './invitations/invitation-file.js';
import { AggregatorRegistry } from 'prom-client';
import { isPrimaryMessage, resolveWorkerCount, runClusterPrimary, type WorkerMessage } from './cluster/cluster-primary.js';

export const SHUTDOWN_GRACE_MS = 10_000;
/** How long a starting gateway (or worker) waits for its store before it listens anyway. */
export const STORE_WAIT_AT_START_MS = 5_000;

export interface ServeOptions {
  readonly configFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
}

/**
 * Resolves once the gateway can answer signed-in requests (its store and the assertion keys
 * in it are ready), or after `timeoutMs`. A process that listens first answers its first
 * signed-in guests 503: a worker replacing a dead one gets new connections at once, beside
 * a healthy worker that could have served them. A store that stays down does not keep the
 * gateway from starting (it then listens and reports not-ready).
 */
async function waitUntilReadyToServe(gateway: Gateway, timeoutMs: number, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopped() && !(await gateway.readiness()).ready) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Runs the gateway until a signal stops it. Resolves with the process exit code. */
export async function serve(options: ServeOptions): Promise<number> {
  const env = options.env ?? process.env;
  let loaded;
  try {
    loaded = loadConfigFile(options.configFile, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gatehouse: invalid config ${options.configFile}:\n${error.errors.map((line) => `  ${line}`).join('\n')}\n`);
      return 1;
    }
    throw error;
  }
  const logger = options.logger ?? createLogger();
  const workerCount = resolveWorkerCount(loaded.config.workers);
  if (cluster.isPrimary) for (const warning of loaded.warnings) logger.warn({ event: 'config.warning' }, warning);
  if (cluster.isPrimary && workerCount > 1) {
    // Workers run this same command; they take the worker branch below.
    cluster.setupPrimary({ exec: process.argv[1], execArgv: process.execArgv, args: process.argv.slice(2) });
    const code = await runClusterPrimary({ configFile: options.configFile, env, config: loaded.config, workerCount, logger, shutdownGraceMs: SHUTDOWN_GRACE_MS });
    logger.flush();
    return code;
  }
  const isWorker = cluster.isWorker;
  // A worker leaves the admin listener to the primary, which aggregates all workers.
  const config = isWorker ? { ...loaded.config, admin: { ...loaded.config.admin, listen: null } } : loaded.config;

  let gateway: Gateway;
  try {
    gateway = await buildGateway(config, { logger, configDir: dirname(loaded.file) });
  } catch (error) {
    // An invalid invitations file is a configuration error: say where, exit 1, no stack.
    if (!(error instanceof InvitationFileError)) throw error;
    process.stderr.write(`gatehouse: invalid invitations file:\n${error.errors.map((line) => `  ${line}`).join('\n')}\n`);
    return 1;
  }
  // SIGTERM/SIGINT while waiting: stop as cleanly as later on (exit 0).
  let stoppedWhileWaiting = false;
  const stopWhileWaiting = () => {
    stoppedWhileWaiting = true;
  };
  process.on('SIGTERM', stopWhileWaiting);
  process.on('SIGINT', stopWhileWaiting);
  await waitUntilReadyToServe(gateway, STORE_WAIT_AT_START_MS, () => stoppedWhileWaiting);
  process.off('SIGTERM', stopWhileWaiting);
  process.off('SIGINT', stopWhileWaiting);
  if (stoppedWhileWaiting) {
    await gateway.shutdown(0);
    logger.flush();
    return 0;
  }
  if (isWorker) {
    // The primary owns the listener and hands each connection over (connection-handoff.ts).
    takeHandedConnections((socket) => gateway.adopt(socket), process);
    new AggregatorRegistry(); // answers the primary's metric requests over IPC
    AggregatorRegistry.setRegistries([gateway.metrics.registry]);
    process.on('message', (message: unknown) => {
      if (!isPrimaryMessage(message)) return;
      void gateway.readiness().then((readiness) => process.send?.({ type: 'gatehouse.readiness', requestId: message.requestId, readiness } satisfies WorkerMessage));
    });
    process.send?.({ type: 'gatehouse.serving' } satisfies WorkerMessage);
    logger.info({ event: 'worker.started' });
  } else {
    let addresses;
    try {
      addresses = await gateway.listen();
    } catch (error) {
      if (!(error instanceof ListenError)) throw error;
      process.stderr.write(`gatehouse: ${describeListenError(error, error.address)}\n`);
      await gateway.shutdown(0);
      logger.flush();
      return 1;
    }
    logger.info(
      { event: 'gateway.started', config: loaded.file, port: addresses.port, admin_port: addresses.adminPort, routes: loaded.config.routes.map((r) => r.name) },
      `gatehouse listening on ${formatListenAddress({ host: loaded.config.listen.host, port: addresses.port })}`,
    );
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'gateway.stopping', signal }, 'finishing in-flight requests');
      gateway.shutdown(SHUTDOWN_GRACE_MS).then(
        () => {
          logger.info({ event: 'gateway.stopped' });
          logger.flush();
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ event: 'gateway.stop_failed', error: String(error) });
          logger.flush();
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      try {
        const reloaded = loadConfigFile(options.configFile, env);
        gateway.reload(isWorker ? { ...reloaded.config, admin: { ...reloaded.config.admin, listen: null } } : reloaded.config);
        for (const warning of reloaded.warnings) logger.warn({ event: 'config.warning' }, warning);
        logger.info({ event: 'config.reloaded', config: reloaded.file, routes: reloaded.config.routes.map((r) => r.name) });
      } catch (error) {
        const errors = error instanceof ConfigError ? error.errors : [String(error)];
        logger.error({ event: 'config.reload_failed', errors }, 'new config is invalid; still running on the previous one');
      }
    });
  });
}
