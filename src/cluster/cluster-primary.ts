/**
 * `workers: N|auto`: a primary process that forks N workers (node:cluster), so one machine's
 * cores are all used. The primary listens on the gateway's port and hands each connection to
 * a worker (connection-handoff.ts); workers serve guests. The primary serves the admin
 * listener for all of them (/metrics aggregated over workers, /readyz ready only when every
 * worker is), restarts a worker that dies, and passes SIGHUP and SIGTERM on.
 * Only the Redis store is allowed with more than one worker (the schema enforces it).
 */
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createClusterMetrics } from './cluster-metrics.js';
import { createConnectionHandoff, isConnectionReply, type ConnectionReply } from './connection-handoff.js';
import { describeListenError, formatListenAddress } from '../lib/describe-listen-error.js';
import type { GatewayConfig } from '../config/schema.js';
import { loadConfigFile, ConfigError } from '../config/load-config.js';
import type { Logger } from '../log/logger.js';
import { createAdminApp, type Readiness } from '../admin/admin-app.js';
import { createAdminApiRouter } from '../admin/admin-api.js';
import { createKeyValueStore } from '../store/create-store.js';
import { assertionKeysFor } from '../assertion/keys-for-config.js';
import { createSessions } from '../session/sessions.js';
import { createSessionDirectory } from '../session/session-directory.js';
import { createInvitationRegistry } from '../invitations/invitation-registry.js';

/** How many workers `workers` asks for on this machine. */
export function resolveWorkerCount(workers: GatewayConfig['workers']): number {
  return workers === 'auto' ? Math.max(1, availableParallelism()) : workers;
}

/** Messages between the primary and its workers. */
export type WorkerMessage =
  | { readonly type: 'gatehouse.serving' }
  | { readonly type: 'gatehouse.readiness'; readonly requestId: number; readonly readiness: Readiness }
  | ConnectionReply;
export type PrimaryMessage = { readonly type: 'gatehouse.readiness?'; readonly requestId: number };

export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'gatehouse.readiness?';
}

function isWorkerMessage(message: unknown): message is WorkerMessage {
  const type = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
  return type === 'gatehouse.serving' || type === 'gatehouse.readiness' || isConnectionReply(message);
}

const RESTART_DELAY_MS = 1000;
/** After a worker's exit, how long its channel may take to deliver what it sent before dying. */
const CHANNEL_DRAIN_MS = 100;
const READINESS_TIMEOUT_MS = 3000;

export interface ClusterOptions {
  readonly configFile: string;
  readonly env: NodeJS.ProcessEnv;
  readonly config: GatewayConfig;
  readonly workerCount: number;
  readonly logger: Logger;
  readonly shutdownGraceMs: number;
}

/** Runs the primary until SIGTERM/SIGINT. Resolves with the process exit code. */
export async function runClusterPrimary(options: ClusterOptions): Promise<number> {
  const { logger, config } = options;
  const metrics = createClusterMetrics();
  let stopping = false;
  let everServing = 0;
  const serving = new Set<number>();
  const handoff = createConnectionHandoff();
  let listenFailed: (code: number) => void = () => {};
  const failedToListen = new Promise<number>((resolve) => (listenFailed = resolve));
  // The admin listener's port, for the started line (undefined when it is off).
  let adminListening: (port: number | undefined) => void = () => {};
  const adminPort = new Promise<number | undefined>((resolve) => (adminListening = resolve));
  // Listens once every first worker serves, as a single gateway listens once it can serve.
  const listenForGuests = () => {
    const address = config.listen;
    Promise.all([handoff.listen(address), adminPort]).then(
      ([port, admin]) => logger.info({ event: 'gateway.started', config: options.configFile, port, admin_port: admin, workers: options.workerCount, routes: config.routes.map((r) => r.name) }, `gatehouse listening on ${formatListenAddress({ host: address.host, port })} with ${options.workerCount} workers`),
      (error: NodeJS.ErrnoException) => {
        process.stderr.write(`gatehouse: ${describeListenError(error, formatListenAddress(address))}\n`);
        listenFailed(1);
      },
    );
  };
  let readinessCounter = 0;
  const pendingReadiness = new Map<number, { answers: Readiness[]; expected: number; resolve: (readiness: Readiness) => void }>();

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === 'gatehouse.serving') {
        serving.add(worker.id);
        handoff.addWorker(worker);
        everServing += 1;
        if (everServing === options.workerCount && !stopping) listenForGuests();
        return;
      }
      if (message.type !== 'gatehouse.readiness') {
        handoff.handleReply(worker.id, message);
        return;
      }
      const pending = pendingReadiness.get(message.requestId);
      if (!pending) return;
      pending.answers.push(message.readiness);
      if (pending.answers.length === pending.expected) {
        pendingReadiness.delete(message.requestId);
        pending.resolve(combineReadiness(pending.answers, pending.expected));
      }
    });
    return worker;
  };

  const readiness = (): Promise<Readiness> => {
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && worker.isConnected() && serving.has(worker.id));
    if (stopping) return Promise.resolve({ ready: false, checks: { shutdown: 'draining' } });
    if (workers.length < options.workerCount) {
      return Promise.resolve({ ready: false, checks: { workers: `${workers.length} of ${options.workerCount} running` } });
    }
    const requestId = (readinessCounter += 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingReadiness.delete(requestId);
        resolve({ ready: false, checks: { workers: 'a worker did not answer' } });
      }, READINESS_TIMEOUT_MS);
      pendingReadiness.set(requestId, {
        answers: [],
        expected: workers.length,
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
      });
      for (const worker of workers) worker.send({ type: 'gatehouse.readiness?', requestId } satisfies PrimaryMessage);
    });
  };

  const exitedEarly = new Promise<number>((resolve) => {
    // The connections a dead worker had not taken go to another worker once its channel is
    // read to its end ('disconnect'), so a connection it took just before dying is not handed
    // out again. After a SIGKILL node:cluster does not always emit 'disconnect' (a half-read
    // message or a queued handle holds it back), so 'exit' does the same a moment later, once
    // the acknowledgements already in the pipe have been read.
    cluster.on('disconnect', (worker) => handoff.removeWorker(worker.id));
    cluster.on('exit', (worker, code, signal) => {
      setTimeout(() => handoff.removeWorker(worker.id), CHANNEL_DRAIN_MS).unref();
      serving.delete(worker.id);
      if (stopping) return;
      if (everServing === 0) {
        // A worker that never got to serve (a bad invitations file) will not do better on retry.
        stopping = true;
        for (const other of Object.values(cluster.workers ?? {})) other?.kill('SIGTERM');
        resolve(1);
        return;
      }
      logger.error({ event: 'worker.exited', worker_pid: worker.process.pid, code, signal }, 'a worker died; starting a new one');
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS).unref();
    });
  });

  for (let i = 0; i < options.workerCount; i += 1) fork();

  let adminServer: http.Server | undefined;
  // The admin API works on the shared Redis store, so the primary can serve it for all workers.
  const kv = createKeyValueStore(config.session.store, { logger });
  const directory = createSessionDirectory(kv, { sessions: createSessions(kv, { timeouts: () => config.session }) });
  const invitations = config.invitations.file ? createInvitationRegistry({ file: config.invitations.file, logger }) : undefined;
  // The same keys the workers sign with (key file, or the ring in the shared store), for
  // /jwks.json and `gatehouse keys rotate` on the admin listener.
  const assertionKeys = assertionKeysFor(config, { store: kv, logger, clock: Date.now, graceMs: () => config.assertion.rotation_grace });
  await assertionKeys.start();
  const closeStores = async () => {
    assertionKeys.stop();
    invitations?.close();
    await directory.close();
    await kv.close();
  };
  if (config.admin.listen) {
    const address = config.admin.listen;
    adminServer = http.createServer(
      createAdminApp({
        metricsText: () => metrics.text(),
        metricsContentType: metrics.contentType,
        readiness,
        jwks: () => (config.assertion.enabled ? assertionKeys.jwks() : { keys: [] }),
        api: createAdminApiRouter({
          directory,
          keys: () => assertionKeys,
          token: () => config.admin.token,
          logger,
          invitations: () => invitations?.list() ?? [],
          routeNames: () => config.routes.map((route) => route.name),
        }),
      }),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        adminServer!.once('error', reject);
        adminServer!.listen(address.port, address.host, () => resolve());
      });
      adminListening((adminServer.address() as AddressInfo).port);
    } catch (error) {
      process.stderr.write(`gatehouse: ${describeListenError(error as NodeJS.ErrnoException, formatListenAddress(address))}\n`);
      await closeStores();
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
      return 1;
    }
  } else {
    adminListening(undefined);
  }

  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'gateway.stopping', signal, workers: options.workerCount }, 'stopping workers');
      handoff.close();
      const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      const exits = workers.map((worker) => new Promise<void>((done) => worker.once('exit', () => done())));
      for (const worker of workers) worker.process.kill('SIGTERM');
      const deadline = setTimeout(() => {
        for (const worker of workers) worker.process.kill('SIGKILL');
      }, options.shutdownGraceMs + 2000);
      void Promise.all(exits).then(() => {
        clearTimeout(deadline);
        adminServer?.close();
        logger.info({ event: 'gateway.stopped' });
        resolve(0);
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      // Validate once here, so an invalid file is reported once and no worker drops its config.
      try {
        loadConfigFile(options.configFile, options.env);
      } catch (error) {
        const errors = error instanceof ConfigError ? error.errors : [String(error)];
        logger.error({ event: 'config.reload_failed', errors }, 'new config is invalid; workers keep running on the previous one');
        return;
      }
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
    });
  });

  const code = await Promise.race([
    stopped,
    exitedEarly.then((exitCode) => {
      process.stderr.write('gatehouse: the workers could not start (see the lines above)\n');
      return exitCode;
    }),
    failedToListen,
  ]);
  if (code !== 0) {
    stopping = true;
    handoff.close();
    adminServer?.close();
    await stopWorkers(5_000);
  }
  await closeStores();
  return code;
}

/** SIGTERM to every worker still running; resolves when they have exited, or after `boundMs`. */
async function stopWorkers(boundMs: number): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
  const exits = workers.map((worker) => new Promise<void>((done) => worker.once('exit', () => done())));
  for (const worker of workers) worker.process.kill('SIGTERM');
  await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, boundMs).unref())]);
}

function combineReadiness(answers: readonly Readiness[], expected: number): Readiness {
  const checks: Record<string, string> = {};
  answers.forEach((answer, index) => {
    for (const [name, value] of Object.entries(answer.checks)) {
      if (value !== 'ok' || checks[name] === undefined) checks[name] = value === 'ok' ? 'ok' : `${value} (worker ${index + 1})`;
    }
  });
  return { ready: answers.length === expected && answers.every((answer) => answer.ready), checks };
}
