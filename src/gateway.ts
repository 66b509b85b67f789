/**
 * `buildGateway(config, deps)` assembles a gateway without listening: the guests' server,
 * the admin server, the proxy and the built-in upstreams. `main.ts` listens and wires
 * signals; tests call this directly.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayConfig } from './config/schema.js';
import type { Logger } from './log/logger.js';
import { createGatewayMetrics, type GatewayMetrics } from './metrics/metrics.js';
import { buildGatewayState, type GatewayState } from './gateway-state.js';
import { createUpstreamPools } from './proxy/upstream-pools.js';
import { createProxyEngine } from './proxy/proxy-engine.js';
import { createAccessLog } from './log/access-log.js';
import { startWhoamiServer } from './upstreams/whoami.js';
import { trackConnections } from './http/connection-drain.js';
import { createRequestHandler } from './http/handle-request.js';
import { createUpgradeHandler } from './http/handle-upgrade.js';
import { serveWithoutUpgrade } from './http/serve-without-upgrade.js';
import { createGatehouseApp } from './http/gatehouse-app.js';
import { requestContextOf } from './http/request-context.js';
import { createAdminApp, evaluateReadiness, type Readiness, type ReadinessCheck } from './admin/admin-app.js';
import { randomBytes } from 'node:crypto';
import { createKeyValueStore } from './store/create-store.js';
import { UnsupportedStoreError, type KeyValueStore } from './store/key-value-store.js';
import { createSessions } from './session/sessions.js';
import { createSessionResolver } from './session/session-resolver.js';
import { createSessionCache } from './session/session-cache.js';
import { createNotifier } from './mail/create-notifier.js';
import type { Notifier } from './mail/notifier.js';
import { createSignInCodeService } from './otp/sign-in-codes.js';
import { createRequestAuthorizer } from './http/authorize-request.js';
import { createSignInRoutes } from './http/sign-in/sign-in-routes.js';
import { createSessionDirectory } from './session/session-directory.js';
import { createAdminApiRouter } from './admin/admin-api.js';
import { createInvitationRegistry, type InvitationRegistry } from './invitations/invitation-registry.js';
import { NOBODY_INVITED } from './policy/access-policy.js';
import { assertionKeysFor } from './assertion/keys-for-config.js';
import type { AssertionKeys } from './assertion/assertion-keys.js';
import { createAssertionSigner } from './assertion/assertion-signer.js';
import { createAssertionIssuer } from './http/identity-assertion.js';
import { JWKS_CACHE_CONTROL } from './admin/admin-app.js';
import { formatListenAddress } from './lib/describe-listen-error.js';
import { createPasskeyStore } from './passkeys/passkey-store.js';
import { createChallenges } from './passkeys/challenges.js';

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

export interface GatewayDeps {
  readonly logger: Logger;
  /** Injected in tests: time for sessions, codes and limits. */
  readonly clock?: () => number;
  /** Injected in tests; otherwise made from `session.store`. The caller then closes it. */
  readonly store?: KeyValueStore;
  /** Injected in tests; otherwise made from `mail`. */
  readonly notifier?: Notifier;
  /** Process metrics (CPU, memory, event loop) are on unless turned off (tests). */
  readonly collectProcessMetrics?: boolean;
  /** How long a sign-in form's body may take to arrive; FORM_BODY_TIMEOUT_MS unless a test says. */
  readonly formBodyTimeoutMs?: number;
  /**
   * The config file's directory: with the memory store, the assertion keys are kept there so
   * a restart keeps them. Without it (a gateway built from an object), they live in the store.
   */
  readonly configDir?: string;
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
  /** What /readyz reports: config, store and shutdown state. */
  readiness(): Promise<Readiness>;
  /** Listens on `listen` and `admin.listen` (port 0 picks a free port). */
  listen(): Promise<ListeningAddresses>;
  /**
   * Serves a connection accepted by another process (a worker: the primary's listener hands
   * it over), as if `listen` had accepted it. False once the gateway has shut down.
   */
  adopt(socket: Socket): boolean;
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
  return JSON.stringify([config.listen, config.admin.listen, config.session.store]);
}

export async function buildGateway(initialConfig: GatewayConfig, deps: GatewayDeps): Promise<Gateway> {
  const { logger } = deps;
  const clock = deps.clock ?? Date.now;
  const metrics = createGatewayMetrics({ collectProcessMetrics: deps.collectProcessMetrics });
  const pools = createUpstreamPools();
  const proxy = createProxyEngine();
  const whoami = await startWhoamiServer();
  const builtins = { whoami: whoami.port };

  // Without a configured secret (memory store only) a random one lives as long as the process.
  const randomSecret = randomBytes(32).toString('base64url');
  const secretsOf = (config: GatewayConfig): readonly string[] => (config.session.secret.length > 0 ? config.session.secret : [randomSecret]);
  const kv = deps.store ?? createKeyValueStore(initialConfig.session.store, { logger, clock });
  let notifier: Notifier = deps.notifier ?? createNotifier(initialConfig.mail, { logger });

  let state: GatewayState = buildGatewayState(initialConfig, pools, builtins);
  let draining = false;
  const getState = () => state;
  const openWebSockets = new Set<Duplex>();

  // The one owner of session records; everything below reads and writes them through it.
  const sessions = createSessions(kv, { timeouts: () => state.config.session, clock });
  const sessionCache = createSessionCache((id) => sessions.read(id));
  const resolver = createSessionResolver({
    cookieName: () => state.cookieNames.session,
    secrets: () => secretsOf(state.config),
    settings: () => state.config.session,
    cache: sessionCache,
    sessions,
    clock,
  });
  const directory = createSessionDirectory(kv, { clock, sessions });
  // The invitations file (allow: invited), re-read when it changes; replaced when a reload names another file.
  let invitations: InvitationRegistry | undefined;
  let invitationsFile: string | undefined;
  const useInvitationsFile = (file: string | undefined) => {
    if (file === invitationsFile) return;
    const next = file ? createInvitationRegistry({ file, logger, clock }) : undefined;
    invitations?.close();
    invitations = next;
    invitationsFile = file;
  };
  useInvitationsFile(initialConfig.invitations.file);
  const invitationCheck = () => invitations ?? NOBODY_INVITED;
  const access = createRequestAuthorizer({ sessions: () => resolver, config: () => state.config, invitations: invitationCheck, clock });
  // The signed identity: keys (from assertion.key_file, or made once and kept in the store),
  // and a signer that signs once per session and route.
  const keyDeps = { store: kv, configDir: deps.configDir, logger, clock, graceMs: () => state.config.assertion.rotation_grace };
  let assertionKeys: AssertionKeys = assertionKeysFor(initialConfig, keyDeps);
  await assertionKeys.start();
  const signer = createAssertionSigner({ keys: () => assertionKeys, settings: () => state.config.assertion, clock });
  const assertions = createAssertionIssuer({ signer, settings: () => state.config.assertion });
  const jwks = () => (state.config.assertion.enabled ? assertionKeys.jwks() : { keys: [] });

  const passkeys = createPasskeyStore(kv);
  const challenges = createChallenges(kv, { secrets: () => secretsOf(state.config), clock });
  const codes = createSignInCodeService({ store: kv, settings: () => state.config.otp, secrets: () => secretsOf(state.config), clock });

  const gatehouseApp = createGatehouseApp({
    getPageSettings: () => ({ branding: state.config.branding, pageHeaders: state.pageHeaders }),
    requestIdOf: (req) => requestContextOf(req)?.requestId ?? '-',
    logger,
    formBodyTimeoutMs: deps.formBodyTimeoutMs,
    jwks,
    jwksCacheControl: JWKS_CACHE_CONTROL,
    signInRoutes: createSignInRoutes({
      settings: () => state,
      codes,
      access,
      sessions,
      sessionIdOf: (cookieHeader) => resolver.sessionIdOf(cookieHeader),
      resolveSession: (cookieHeader) => resolver.resolve(cookieHeader),
      notifier: () => notifier,
      secrets: () => secretsOf(state.config),
      onSessionEnded: (id) => sessionCache.invalidate(id),
      invitations: invitationCheck,
      directory,
      passkeys,
      challenges,
      logger,
      clock,
    }),
  });
  const accessLog = createAccessLog(logger);
  const onSignedInRequest = (sessionId: string, routeName: string) => directory.recordActivity(sessionId, clock(), routeName);
  const server = http.createServer(
    createRequestHandler({
      getState,
      proxy,
      metrics,
      logger,
      accessLog,
      access,
      assertions,
      gatehousePages: (req, res) => gatehouseApp(req, res),
      isDraining: () => draining,
      onSignedInRequest,
    }),
  );
  server.on(
    'upgrade',
    createUpgradeHandler({
      getState,
      proxy,
      metrics,
      logger,
      accessLog,
      access,
      assertions,
      isDraining: () => draining,
      openSockets: openWebSockets,
      onSignedInRequest,
      serveAsPlainRequest: (req, socket, head) => serveWithoutUpgrade(server, req, socket, head),
    }),
  );
  // Malformed HTTP (bad framing, oversized headers): a plain 400, never a stack trace.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  // CONNECT (a forward-proxy tunnel): Node hands it to 'connect' and, with no listener,
  // drops the connection without a word. The gateway is no forward proxy: say so.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    if (!socket.writable) return socket.destroy();
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  // Above common load balancers' idle timeouts (60 s), so they close first and never race us.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // uploads of any size: the route timeout guards upstream silence

  const readinessChecks: ReadinessCheck[] = [
    { name: 'config', check: () => (state.routes.length > 0 ? '' : 'no routes') },
    {
      name: 'store',
      check: () =>
        kv.ping().then(
          () => '',
          (error: unknown) => (error instanceof UnsupportedStoreError ? error.message : 'unreachable'),
        ),
    },
    // Signed-in requests need a signing key: read from the store, which may be down at start.
    { name: 'assertion_keys', check: () => (!state.config.assertion.enabled || assertionKeys.signingKey() ? '' : 'not loaded yet') },
    { name: 'shutdown', check: () => (draining ? 'draining' : '') },
  ];
  const readiness = () => evaluateReadiness(readinessChecks);
  const adminServer =
    initialConfig.admin.listen === null
      ? undefined
      : http.createServer(
          createAdminApp({
            metricsText: () => metrics.registry.metrics(),
            metricsContentType: metrics.registry.contentType,
            readiness,
            jwks,
            api: createAdminApiRouter({
              directory,
              passkeys,
              keys: () => assertionKeys,
              token: () => state.config.admin.token,
              logger,
              invitations: () => invitations?.list() ?? [],
              routeNames: () => state.config.routes.map((route) => route.name),
              clock,
            }),
          }),
        );

  // Every connection, the listener's and those a cluster primary hands over (adopt): the
  // graceful stop closes each one as it becomes idle, never one whose request is unread.
  const connections = trackConnections(server);
  const adminConnections = adminServer && trackConnections(adminServer);
  let adopting = true;
  let trackingAdopted = false;

  async function listenOn(target: http.Server, address: { host: string; port: number }): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => reject(new ListenError(formatListenAddress(address), error.code, error));
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
    readiness,
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
    adopt(socket) {
      if (!adopting) return false;
      // Node's http.Server starts tracking its connections on 'listening': the idle and
      // in-flight lists behind closeIdleConnections, closeAllConnections and the
      // headersTimeout check. A server that never listens must be told, or a slow-headers
      // client is never cut and shutdown cannot close an idle keep-alive connection.
      if (!trackingAdopted && !server.listening) server.emit('listening');
      trackingAdopted = true;
      server.emit('connection', socket);
      return true;
    },
    reload(config) {
      if (restartOnlySettings(config) !== restartOnlySettings(state.config)) {
        logger.warn({ event: 'config.restart_needed' }, 'listen, admin.listen and session.store changes take effect after a restart');
      }
      if (!deps.notifier && JSON.stringify(config.mail) !== JSON.stringify(state.config.mail)) {
        const previous = notifier;
        notifier = createNotifier(config.mail, { logger });
        void previous.close();
      }
      useInvitationsFile(config.invitations.file);
      if (config.assertion.key_file || state.config.assertion.key_file) {
        // Re-read on every reload: ops rotate a key file by putting a new key first, then SIGHUP.
        try {
          const next = assertionKeysFor(config, keyDeps);
          assertionKeys.stop();
          assertionKeys = next;
          void next.start();
        } catch (error) {
          logger.error({ event: 'assertion.key_file_failed', file: config.assertion.key_file, error: error instanceof Error ? error.message : String(error) }, 'the assertion keys were not changed');
        }
      }
      state = buildGatewayState(config, pools, builtins);
      // Groups, ttl or origins may have changed: sign anew.
      signer.clear();
    },
    async shutdown(graceMs) {
      draining = true;
      const drained = Promise.all([connections.drain(), adminConnections?.drain()]);
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      const outcome = await Promise.race([drained.then(() => 'done' as const), deadline]);
      if (outcome === 'timeout') {
        logger.warn({ event: 'shutdown.forced', grace_ms: graceMs }, 'requests still running at the end of the grace period were cut');
        connections.closeAll();
        adminConnections?.closeAll();
      }
      for (const socket of openWebSockets) socket.destroy();
      await drained;
      adopting = false;
      await pools.destroyAll();
      await whoami.close();
      await notifier.close();
      invitations?.close();
      await directory.close();
      assertionKeys.stop();
      if (!deps.store) await kv.close();
    },
  };
}
