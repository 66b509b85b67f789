/**
 * `workers: N`: several processes share the port, the primary serves the admin listener with
 * metrics summed over workers, and the memory store refuses to be split between workers.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
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
  // The primary listens and hands connections to the workers, so port 0 works as for one process.
  const { proc, port, adminPort } = await startGatewayProcess(file);
  assert.ok(port > 0 && adminPort !== undefined && adminPort > 0, 'the started line names both ports');
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

  const metrics = await request(adminPort!, { path: '/metrics' });
  assert.match(metrics.text(), /gatehouse_requests_total\{route="app",status_class="2xx"\} 40\b/);
  assert.equal((await request(adminPort!, { path: '/readyz' })).status, 200);
  const sessions = await request(adminPort!, { path: '/api/sessions', headers: { authorization: 'Bearer workers-admin-token-0123456789abcdef' } });
  assert.equal(sessions.status, 200, 'the primary serves the admin API for all workers');
  assert.deepEqual(sessions.json<{ sessions: unknown[] }>().sessions, []);

  // A worker that dies is replaced, and the line saying so has one `pid` (the primary's)
  // and names the dead worker apart: duplicate JSON keys are read differently by every tool.
  const [victim] = workerPids;
  process.kill(victim as number, 'SIGKILL');
  // A scrape while the worker dies answers at once, and no count goes back (Prometheus would
  // read a counter reset): the dead worker's requests still count.
  const during = await request(adminPort!, { path: '/metrics' });
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
    const after = await request(adminPort!, { path: '/metrics' });
    assert.equal(after.status, 200, when);
    assert.match(after.text(), /gatehouse_requests_total\{route="app",status_class="2xx"\} 40\b/, when);
  }
  assert.equal((await request(port, { path: '/open/again', headers: agentless })).status, 200);
  await eventually(async () => /gatehouse_requests_total\{route="app",status_class="2xx"\} 41\b/.test((await request(adminPort!, { path: '/metrics' })).text()), 3000, 'a new request adds to the kept counts');

  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});

test('at SIGTERM the workers close idle keep-alive connections at once instead of waiting out the grace period', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const { proc, port } = await startWhoamiWorkers();
  t.after(() => proc.stop());
  // Two connections, so both workers hold one (connections are handed out in turn).
  const sockets = await Promise.all([0, 1].map(() => openKeptAliveConnection(port)));
  const closed = sockets.map((socket) => once(socket, 'close'));
  proc.child.kill('SIGTERM');
  await Promise.all(closed);
  assert.equal(await proc.exited, 0);
  assert.equal(proc.logs.filter((line) => line.event === 'shutdown.forced').length, 0, 'no worker waited out its grace period for an idle connection');
});

/** A connection that has had one answer and stays open (keep-alive), idle. */
async function openKeptAliveConnection(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write('GET / HTTP/1.1\r\nHost: app.test\r\n\r\n');
  let received = '';
  socket.setEncoding('utf8');
  await new Promise<void>((resolve) => {
    const onData = (chunk: string) => {
      received += chunk;
      const head = received.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(received)?.[1];
      if (head >= 0 && length !== undefined && received.length >= head + 4 + Number(length)) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
  assert.match(received, /^HTTP\/1\.1 200 /);
  assert.doesNotMatch(received, /connection: close/i);
  return socket;
}

test('a connection made while no worker runs waits for the next worker and is served', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const { proc, port } = await startWhoamiWorkers();
  t.after(() => proc.stop());
  // Each worker writes its own lines, so its started line may come after the primary's.
  const first = await proc.waitForLog((line) => line.event === 'worker.started');
  const second = await proc.waitForLog((line) => line.event === 'worker.started' && line.pid !== first.pid);
  const started = [first.pid as number, second.pid as number];
  for (const pid of started) process.kill(pid, 'SIGKILL');
  await proc.waitForLog((line) => line.event === 'worker.exited' && line.worker_pid === started[1]);
  // Both are dead and the new ones start a second from now: this request waits for one.
  const response = await request(port, { path: '/', headers: { host: 'app.test' } });
  assert.equal(response.status, 200);
  // The access line names the process that answered: one of the new workers.
  const line = await proc.waitForLog((entry) => entry.event === 'request' && entry.path === '/');
  assert.ok(!started.includes(line.pid as number), 'a new worker answered');
});

/** Two workers on the Redis store in front of the built-in whoami app, everything public. */
function startWhoamiWorkers() {
  return startGatewayProcess(
    writeTempConfig(`listen: 127.0.0.1:0
workers: 2
session:
  secret: workers-test-secret-of-at-least-32-characters
  store:
    redis: { url: "${REDIS_URL}", prefix: "${uniqueRedisPrefix()}" }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    public: ["/**"]
`),
  );
}
