/**
 * A URL that names a Redis Sentinel or a Redis Cluster node reaches something that answers
 * PING, but every sign-in would fail: the gateway says it is not ready, and why, instead of
 * looking healthy. Real `redis-server` processes (`--sentinel`, `--cluster-enabled yes`),
 * started by the test on free loopback ports and stopped by pid.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureLogs } from '../helpers/mail.js';
import { unusedLoopbackPort } from '../helpers/ports.js';
import { request, startGateway } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import { SECRET } from '../helpers/sign-in-world.js';

const skip = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0 ? undefined : 'redis-server is not installed';

async function startRedisProcess(mode: 'sentinel' | 'cluster'): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await unusedLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-${mode}-`));
  let args: string[];
  if (mode === 'sentinel') {
    // A sentinel rewrites its config file, so it needs one of its own.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n`);
    args = [conf, '--sentinel'];
  } else {
    args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--save', '', '--appendonly', 'no'];
  }
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = once(child, 'exit');
  await eventually(() => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG', 5000, `${mode} answers`);
  return {
    port,
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('a Redis URL that does not name a standalone Redis', { skip }, () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  for (const [mode, reason] of [
    ['sentinel', /is a Redis Sentinel, not a Redis server: name the sentinels in session\.store\.redis\.sentinel/],
    ['cluster', /is a Redis Cluster node: name the cluster's nodes in session\.store\.redis\.cluster\.nodes/],
  ] as const) {
    test(`a ${mode}: /readyz is 503 and says why; the log says so once`, async () => {
      const redis = await startRedisProcess(mode);
      stops.push(() => redis.stop());
      const logs = captureLogs();
      const gw = await startGateway(
        `
session:
  secret: ${SECRET}
  store:
    redis: { url: "redis://127.0.0.1:${redis.port}" }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`,
        { logger: logs.logger, waitUntilReady: false },
      );
      stops.push(() => gw.close());
      await eventually(() => logs.records().some((line) => line.event === 'store.unsupported'), 5000, 'store.unsupported logged');
      const readiness = await request(gw.adminPort!, { path: '/readyz' });
      assert.equal(readiness.status, 503);
      const store = readiness.json<{ checks: Array<{ name: string; ok?: boolean; reason?: string }> }>();
      assert.match(JSON.stringify(store), reason);
      assert.equal(logs.records().filter((line) => line.event === 'store.unsupported').length, 1);
    });
  }
});
