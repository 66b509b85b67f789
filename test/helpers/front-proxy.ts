/**
 * Real front proxies for the forward-auth tests: Debian's nginx and Caddy, each started by
 * the test on a loopback port from a config written to a temporary directory, and stopped
 * by its process id. Without the binary the tests are skipped with a notice, except under
 * CI (.ci/run installs both), where that is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FrontProxy {
  readonly port: number;
  /** What the proxy wrote to stderr and its error log, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

function installed(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

/** Why tests of `binary` are skipped, or undefined to run them. Throws under CI. */
export function frontProxySkipReason(binary: 'nginx' | 'caddy'): string | undefined {
  if (installed(binary)) return undefined;
  if (process.env.CI) throw new Error(`${binary} is not installed, and CI is set: the front-proxy tests must run (.ci/run installs it)`);
  return `${binary} is not installed (apt-get install ${binary}): front-proxy tests skipped`;
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; rejects when `child` exits first. */
async function waitForListener(port: number, child: ChildProcess, output: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the proxy exited before listening:\n${output()}`);
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (Date.now() > deadline) throw new Error(`the proxy did not listen on ${port} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function startProcess(command: string, args: string[], port: number, env: NodeJS.ProcessEnv, extraOutput: () => string): Promise<FrontProxy> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = once(child, 'exit');
  const output = () => text + extraOutput();
  const proxy: FrontProxy = {
    port,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
  return waitForListener(port, child, output).then(
    () => proxy,
    async (error: unknown) => {
      await proxy.stop();
      throw error;
    },
  );
}

/**
 * Runs nginx in the foreground with `serverConf` (what goes in conf.d, e.g.
 * config/nginx/gatehouse.conf) inside a minimal main config of its own temp directory.
 */
export function startNginx(serverConf: string, port: number): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
  writeFileSync(join(dir, 'gatehouse.conf'), serverConf);
  const errorLog = join(dir, 'error.log');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `# The tests run as root; the workers too, so they can read this temporary directory.
user root;
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 256; }
http {
  access_log ${join(dir, 'access.log')};
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  include ${join(dir, 'gatehouse.conf')};
}
`,
  );
  const check = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog], { encoding: 'utf8' });
  if (check.status !== 0) return Promise.reject(new Error(`nginx -t refused the config:\n${check.stderr}`));
  return startProcess('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', errorLog], port, {}, () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''));
}

/** Runs Caddy with `caddyfile`, its data and config directories in a temp directory. */
export function startCaddy(caddyfile: string, port: number): Promise<FrontProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-caddy-'));
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, caddyfile);
  const env = { HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const check = spawnSync('caddy', ['validate', '--config', file, '--adapter', 'caddyfile'], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  if (check.status !== 0) return Promise.reject(new Error(`caddy validate refused the Caddyfile:\n${check.stderr}${check.stdout}`));
  return startProcess('caddy', ['run', '--config', file, '--adapter', 'caddyfile'], port, env, () => '');
}
