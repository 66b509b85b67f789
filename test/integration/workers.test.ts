/**
 * `workers: N`: several processes share the port, the primary serves the admin listener with
 * metrics summed over workers, and the memory store refuses to be split between workers.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { request, startUpstream } from '../helpers/servers.js';
import { runGatehouse, startGatewayProcess, writeTempConfig } from '../helpers/process.js';
import { redisSkipReason, uniqueRedisPrefix, REDIS_URL } from '../helpers/redis.js';
import { eventually } from '../helpers/raw-http.js';

let skip: string | undefined;
before(async () => {
  skip = await redisSkipReason();
});

test('the memory store refuses more than one worker, naming the setting', async () => {
  const file = writeTempConfig(`workers: 2
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    public: ["/**"]
`);
  const proc = runGatehouse(['check', '--config', file]);
  assert.equal(await proc.exited, 1);
  assert.match(proc.stderr(), /gateway\.yaml:1 workers: must be 1 with the memory session store/);
});

test('two workers share the port and the primary reports metrics summed over both', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const upstream = await startUpstream();
  t.after(() => upstream.close());
  const file = writeTempConfig(`listen: 127.0.0.1:0
workers: 2
admin: { listen: "127.0.0.1:0", token: "workers-admin-token-0123456789abcdef" }
session:
  secret: workers-test-secret-of-at-least-32-characters
  store:
    redis: { url: "${REDIS_URL}", prefix: "${uniqueRedisPrefix()}" }
routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    allow: ["*@example.com"]
    public: ["/open/**"]
`);
  // Port 0 cannot be shared by a cluster in a test we can predict, so pick a free port first.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  const adminProbe = http.createServer();
  await new Promise<void>((resolve) => adminProbe.listen(0, '127.0.0.1', resolve));
  const adminPort = (adminProbe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  await new Promise((resolve) => adminProbe.close(resolve));
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(file, readFileSync(file, 'utf8').replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${port}`).replace('"127.0.0.1:0"', `"127.0.0.1:${adminPort}"`));

  const { proc } = await startGatewayProcess(file);
  t.after(() => proc.stop());
  let rawOutput = '';
  proc.child.stdout!.on('data', (chunk: Buffer) => (rawOutput += chunk.toString()));
  const agentless = { host: 'app.test' };
  for (let i = 0; i < 40; i += 1) {
    const response = await request(port, { path: `/open/${i}`, headers: agentless });
    assert.equal(response.status, 200);
  }
  const protectedResponse = await request(port, { path: '/private', headers: { ...agentless, accept: 'application/json' } });
  assert.equal(protectedResponse.status, 401);

  // Access lines are written in batches (at least every 250 ms): wait for all 41.
  const requestLines = () => proc.logs.filter((line) => line.event === 'request');
  for (const deadline = Date.now() + 5_000; requestLines().length < 41 && Date.now() < deadline; ) await delay(50);
  const workerPids = new Set(requestLines().map((line) => line.pid));
  assert.equal(workerPids.size, 2, 'both workers served requests');
  assert.ok(!workerPids.has(proc.child.pid), 'the primary serves no guests');

  const metrics = await request(adminPort, { path: '/metrics' });
  assert.match(metrics.text(), /gatehouse_requests_total\{route="app",status_class="2xx"\} 40\b/);
  assert.equal((await request(adminPort, { path: '/readyz' })).status, 200);
  const sessions = await request(adminPort, { path: '/api/sessions', headers: { authorization: 'Bearer workers-admin-token-0123456789abcdef' } });
  assert.equal(sessions.status, 200, 'the primary serves the admin API for all workers');
  assert.deepEqual(sessions.json<{ sessions: unknown[] }>().sessions, []);

  // A worker that dies is replaced, and the line saying so has one `pid` (the primary's)
  // and names the dead worker apart: duplicate JSON keys are read differently by every tool.
  const [victim] = workerPids;
  process.kill(victim as number, 'SIGKILL');
  // A scrape while the worker dies answers at once, and no count goes back (Prometheus would
  // read a counter reset): the dead worker's requests still count.
  const during = await request(adminPort, { path: '/metrics' });
  assert.equal(during.status, 200);
  assert.match(during.text(), /gatehouse_requests_total\{route="app",status_class="2xx"\} 40\b/);
  const exited = await proc.waitForLog((line) => line.event === 'worker.exited');
  assert.equal(exited.worker_pid, victim);
  assert.equal(exited.pid, proc.child.pid);
  await eventually(async () => /"event":"worker\.exited"[^\n]*\n/.test(rawOutput), 2000, 'the raw worker.exited line');
  const rawLine = rawOutput.split('\n').find((text) => text.includes('"event":"worker.exited"'))!;
  assert.equal(rawLine.match(/"pid":/g)?.length, 1, rawLine);
  // A new worker starts from source through tsx (seconds under CI's load) and listens once its store answers.
  await proc.waitForLog((line) => line.event === 'worker.started' && line.pid !== victim && !workerPids.has(line.pid), 30_000);
  for (const when of ['after the exit', 'with the new worker']) {
    const after = await request(adminPort, { path: '/metrics' });
    assert.equal(after.status, 200, when);
    assert.match(after.text(), /gatehouse_requests_total\{route="app",status_class="2xx"\} 40\b/, when);
  }
  assert.equal((await request(port, { path: '/open/again', headers: agentless })).status, 200);
  await eventually(async () => /gatehouse_requests_total\{route="app",status_class="2xx"\} 41\b/.test((await request(adminPort, { path: '/metrics' })).text()), 3000, 'a new request adds to the kept counts');

  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});
