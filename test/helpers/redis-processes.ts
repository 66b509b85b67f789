/**
 * Real Redis deployments for tests: `redis-server` processes started on free loopback ports,
 * each in a directory of its own, stopped by pid. A primary with a replica and three
 * sentinels, a three-primary Cluster made by `redis-cli --cluster create`, a TLS server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unusedLoopbackPort } from './ports.js';
import { eventually } from './raw-http.js';

/** Why these tests cannot run here, or undefined. */
export function redisServerSkipReason(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli']).status === 0;
  return found ? undefined : 'redis-server and redis-cli are not installed';
}

/** Runs `redis-cli -p port args…` and returns its output, trimmed. */
export function redisCli(port: number, args: readonly string[], options: { tls?: readonly string[] } = {}): string {
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...(options.tls ?? []), ...args], { encoding: 'utf8', timeout: 10_000 });
  return `${result.stdout}${result.stderr}`.trim();
}

export interface RedisProcess {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  /** SIGKILL and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` with `configText` (port, bind and dir are added) and waits until it
 * answers PING; `ready` overrides that check (a TLS server answers only over TLS).
 */
export async function startRedisProcess(configText: string, options: { sentinel?: boolean; port?: number; ready?: (port: number) => boolean } = {}): Promise<RedisProcess> {
  const port = options.port ?? (await unusedLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), options.sentinel ? 'gatehouse-sentinel-' : 'gatehouse-redis-'));
  // A sentinel rewrites its config file, so each process has one of its own.
  const conf = join(dir, 'redis.conf');
  // A config that mentions tls-port gets TLS on the port, and no plain-text port.
  const tls = /^tls-port\b/m.test(configText);
  const listen = tls ? `port 0\ntls-port ${port}\n` : `port ${port}\n`;
  const rest = configText.replace(/^tls-port\b.*\n?/m, '');
  writeFileSync(conf, `${listen}bind 127.0.0.1\ndir ${dir}\nsave ""\nappendonly no\n${rest}\n`);
  const child: ChildProcess = spawn('redis-server', [conf, ...(options.sentinel ? ['--sentinel'] : [])], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  const ready = options.ready ?? ((p: number) => redisCli(p, ['ping']) === 'PONG');
  await eventually(() => ready(port), 5000, `redis-server on ${port} answers`);
  return {
    port,
    pid: child.pid!,
    dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface SentinelGroup {
  readonly name: string;
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: readonly RedisProcess[];
  /** The port the sentinels name as the primary now. */
  primaryPort(): number;
  stop(): Promise<void>;
}

/**
 * A primary, its replica and three sentinels (quorum 2), as SPEC section 8 and
 * docs/operations.md describe. Both data nodes refuse writes while no replica is attached
 * (`min-replicas-to-write 1`), so a primary that has just been replaced by its replica stops
 * taking writes that the failover would throw away.
 */
export async function startSentinelGroup(
  name = 'gatehouse',
  options: { refuseUnreplicatedWrites?: boolean; tls?: PrivateCa; password?: string; sentinelPassword?: string } = {},
): Promise<SentinelGroup> {
  const { tls, password, sentinelPassword } = options;
  const safety =
    (options.refuseUnreplicatedWrites === false ? '' : 'min-replicas-to-write 1\nmin-replicas-max-lag 5\n') +
    (password ? `requirepass ${password}\nmasterauth ${password}\n` : '');
  // With a CA: every node and sentinel speaks only TLS, requires client certificates, and
  // replicates and monitors over TLS too.
  const tlsConfig = tls
    ? [`tls-port 0`, `tls-cert-file ${tls.serverCert}`, `tls-key-file ${tls.serverKey}`, `tls-ca-cert-file ${tls.caFile}`, 'tls-auth-clients yes', 'tls-replication yes', ''].join('\n')
    : '';
  const cliTls = tls ? { tls: ['--tls', '--cacert', tls.caFile, '--cert', tls.clientCert, '--key', tls.clientKey] } : {};
  // Data nodes and sentinels each have their own password; -a is the one of the node asked.
  const auth = (port: number): string[] => {
    const secret = sentinels.some((sentinel) => sentinel.port === port) || port === nextSentinelPort ? sentinelPassword : password;
    return secret ? ['--no-auth-warning', '-a', secret] : [];
  };
  let nextSentinelPort = 0;
  const sentinels: RedisProcess[] = [];
  const cli = (port: number, args: readonly string[]): string => redisCli(port, [...auth(port), ...args], cliTls);
  const ready = (port: number): boolean => cli(port, ['ping']) === 'PONG';
  const primary = await startRedisProcess(`${tlsConfig}${safety}`, { ready });
  const replica = await startRedisProcess(`${tlsConfig}${safety}replicaof 127.0.0.1 ${primary.port}\n`, { ready });
  await eventually(() => /master_link_status:up/.test(cli(replica.port, ['info', 'replication'])), 10_000, 'the replica is in sync');
  for (let index = 0; index < 3; index += 1) {
    nextSentinelPort = await unusedLoopbackPort();
    sentinels.push(
      await startRedisProcess(
        tlsConfig +
          (sentinelPassword ? `requirepass ${sentinelPassword}\n` : '') +
          [
            `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
            ...(password ? [`sentinel auth-pass ${name} ${password}`] : []),
            ...(sentinelPassword ? [`sentinel sentinel-pass ${sentinelPassword}`] : []),
            `sentinel down-after-milliseconds ${name} 1000`,
            `sentinel failover-timeout ${name} 5000`,
            `sentinel parallel-syncs ${name} 1`,
          ].join('\n'),
        { sentinel: true, ready, port: nextSentinelPort },
      ),
    );
  }
  // Each sentinel has found the replica and the other two sentinels.
  await eventually(
    () => sentinels.every((sentinel) => /num-other-sentinels\s+2/.test(cli(sentinel.port, ['sentinel', 'master', name]).replace(/\n/g, ' '))),
    20_000,
    'the sentinels know each other',
  );
  const primaryPort = (): number => Number(cli(sentinels[0]!.port, ['sentinel', 'get-master-addr-by-name', name]).split('\n')[1]);
  return {
    name,
    primary,
    replica,
    sentinels,
    primaryPort,
    async stop() {
      for (const process of [...sentinels, replica, primary]) await process.stop();
    },
  };
}

export interface RedisClusterProcesses {
  readonly nodes: readonly RedisProcess[];
  stop(): Promise<void>;
}

/** Three primaries (no replicas) joined by `redis-cli --cluster create`, all 16,384 slots covered. */
export async function startRedisCluster(): Promise<RedisClusterProcesses> {
  const nodes: RedisProcess[] = [];
  for (let index = 0; index < 3; index += 1) {
    nodes.push(await startRedisProcess('cluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout 2000\n'));
  }
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await eventually(() => nodes.every((node) => /cluster_state:ok/.test(redisCli(node.port, ['cluster', 'info']))), 20_000, 'the cluster is ok');
  return {
    nodes,
    async stop() {
      for (const node of nodes) await node.stop();
    },
  };
}

export interface PrivateCa {
  readonly dir: string;
  /** The CA's certificate: what a client trusts. */
  readonly caFile: string;
  /** A server certificate for IP 127.0.0.1 signed by the CA. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** A client certificate signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** A client certificate signed by another CA: a server that checks clients refuses it. */
  readonly strangerCert: string;
  readonly strangerKey: string;
}

/** A private CA with a server and a client certificate, and a stranger's certificate (EC keys: fast). */
export function createPrivateCa(): PrivateCa {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-ca-'));
  const run = (args: readonly string[]): void => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'other-ca']) {
    run(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=Gatehouse test ${ca}`]);
  }
  const issue = (name: string, ca: string, extension: string): void => {
    run(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    writeFileSync(join(dir, `${name}.ext`), extension);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
  };
  // Redis nodes present it as a client too (replication, sentinels).
  issue('server', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue('client', 'ca', 'extendedKeyUsage=clientAuth\n');
  issue('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');
  const file = (name: string): string => join(dir, name);
  return {
    dir,
    caFile: file('ca.crt'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    strangerCert: file('stranger.crt'),
    strangerKey: file('stranger.key'),
  };
}

/** A Redis that speaks only TLS, with certificates of `ca`, and requires a client certificate. */
export function startTlsRedis(ca: PrivateCa): Promise<RedisProcess> {
  const clientTls = ['--tls', '--cacert', ca.caFile, '--cert', ca.clientCert, '--key', ca.clientKey];
  return startRedisProcess(
    [`tls-port 0`, `tls-cert-file ${ca.serverCert}`, `tls-key-file ${ca.serverKey}`, `tls-ca-cert-file ${ca.caFile}`, 'tls-auth-clients yes'].join('\n'),
    { ready: (port) => redisCli(port, ['ping'], { tls: clientTls }) === 'PONG' },
  );
}
