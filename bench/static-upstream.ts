/**
 * The proxy table's app: nginx serving static files from a temporary directory on a loopback
 * port, one worker, pinned with its master to the servers' core. A Node upstream on the same
 * core would cost about as much per request as the hop under test and push every ratio
 * towards 1; nginx answering a 1 KiB file costs a fraction of that (its CPU per request is
 * reported beside the proxy's, so a reader can check).
 *
 * Files: `/page` and `/public/page` (1 KiB each, the signed-in and public rows) and
 * `/download` (BIG_BODY_BYTES, the parallel downloads, sent with sendfile).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { startNginx } from '../test/helpers/front-proxy.js';
import { PROXY_CORE, childPids, onStop, pinToCore } from './harness.js';

export interface StaticUpstream {
  readonly port: number;
  /** nginx's master and worker, for CPU time. */
  pids(): number[];
  stop(): Promise<void>;
}

/** The nginx master started since `before` among this process's children, and its `-p` directory. */
function newNginxMaster(before: ReadonlySet<number>): { master: number; prefix: string } {
  const masters = childPids(process.pid).filter((pid) => !before.has(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx');
  if (masters.length !== 1) throw new Error(`expected one new nginx master, found ${masters.length}`);
  const master = masters[0]!;
  // nginx rewrites its command line as its process title ("nginx: master process nginx -p …").
  const prefix = /(?:^|[\s\0])-p[\s\0]+([^\s\0]+)/.exec(readFileSync(`/proc/${master}/cmdline`, 'utf8'))?.[1];
  if (!prefix || dirname(prefix) !== tmpdir() || !basename(prefix).startsWith('gatehouse-nginx-')) throw new Error(`unexpected nginx prefix ${prefix}`);
  return { master, prefix };
}

/**
 * Starts nginx with `conf` (see startNginx), finds its master among this process's children,
 * waits for its worker and moves master and worker to the servers' core. `stop` also removes
 * nginx's directory.
 */
export async function startPinnedNginx(conf: string, port: number): Promise<{ pids: () => number[]; stop: () => Promise<void> }> {
  const before = new Set(childPids(process.pid));
  const nginx = await startNginx(conf, port);
  let found: { master: number; prefix: string };
  try {
    found = newNginxMaster(before);
  } catch (error) {
    await nginx.stop();
    throw error;
  }
  const { master, prefix } = found;
  const pids = () => [master, ...childPids(master)];
  const stop = async () => {
    await nginx.stop();
    rmSync(prefix, { recursive: true, force: true });
  };
  onStop(stop);
  // The master listens before it forks its worker: on a busy machine the port answers
  // (startNginx's wait) while the worker is not there yet, and would not be pinned.
  const deadline = Date.now() + 5000;
  while (pids().length < 2) {
    if (Date.now() > deadline) throw new Error('nginx started no worker');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const pid of pids()) pinToCore(pid, PROXY_CORE);
  return { pids, stop };
}

/** Starts nginx as a static file server on 127.0.0.1:`port` with the 1 KiB pages and a `bigBodyBytes` download. */
export async function startStaticUpstream(port: number, bigBodyBytes: number): Promise<StaticUpstream> {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-static-'));
  onStop(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'public'));
  writeFileSync(join(root, 'page'), Buffer.alloc(1024, 'x'));
  writeFileSync(join(root, 'public', 'page'), Buffer.alloc(1024, 'x'));
  writeFileSync(join(root, 'download'), Buffer.alloc(bigBodyBytes, 'y'));
  const conf = `server {
  listen 127.0.0.1:${port};
  root ${root};
  default_type application/octet-stream;
  # Logs off and keep-alive connections that never end: the proxies hold them for the whole run.
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  sendfile on;
  tcp_nopush on;
  etag off;
  location / { try_files $uri =404; }
}
`;
  const nginx = await startPinnedNginx(conf, port);
  return { port, ...nginx };
}
