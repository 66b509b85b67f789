/**
 * The `gatehouse` command as operators run it: exit codes, config errors, a taken port,
 * SIGHUP reload (also under load) and graceful SIGTERM.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { request, startUpstream } from '../helpers/servers.js';
import { runGatehouse, startGatewayProcess, writeTempConfig } from '../helpers/process.js';

function routeYaml(name: string, prefix: string, upstreamOrigin: string): string {
  return `  - name: ${name}
    from: http://app.test${prefix}
    to: ${upstreamOrigin}
    public: ["/**"]
`;
}

function configYaml(routes: string, listen = '127.0.0.1:0'): string {
  return `listen: ${listen}
admin:
  listen: 127.0.0.1:0
routes:
${routes}`;
}

describe('gatehouse check', () => {
  test('a valid config exits 0 and prints each route', async () => {
    const file = writeTempConfig(configYaml(routeYaml('wiki', '/', 'http://127.0.0.1:9')));
    const proc = runGatehouse(['check', '--config', file]);
    assert.equal(await proc.exited, 0);
    const output = proc.logs.map((line) => line.raw).join('\n');
    assert.match(output, /ok, 1 route/);
    assert.match(output, /wiki: http:\/\/app\.test\/ -> http:\/\/127\.0\.0\.1:9/);
  });

  test('an invalid config exits 1 and names the file, line and path of every error', async () => {
    const file = writeTempConfig(`listen: 127.0.0.1:0
routes:
  - name: wiki
    from: http://app.test/
    to: http://127.0.0.1:9
    allow: ["bob@"]
    timeout: soon
`);
    const proc = runGatehouse(['check', '--config', file]);
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr(), /gateway\.yaml:6 routes\[0\]\.allow\[0\]: .*"bob@"/);
    assert.match(proc.stderr(), /gateway\.yaml:7 routes\[0\]\.timeout: /);
  });

  test('an invalid invitations file fails check and serve with its file:line, and no stack', async () => {
    const config = writeTempConfig(
      configYaml(routeYaml('wiki', '/', 'http://127.0.0.1:9')).replace('routes:', 'invitations: { file: guests.yaml }\nroutes:'),
    );
    writeFileSync(config.replace(/gateway\.yaml$/, 'guests.yaml'), '- email: bob@example.com\n  routes: [wiki]\n  expire: soon\n');
    const check = runGatehouse(['check', '--config', config]);
    assert.equal(await check.exited, 1);
    assert.match(check.stderr(), /guests\.yaml:3 \[0\]\.expire: unknown key "expire"/);
    const serve = runGatehouse(['serve', '--config', config]);
    assert.equal(await serve.exited, 1);
    assert.match(serve.stderr(), /invalid invitations file/);
    assert.doesNotMatch(serve.stderr(), /\bat\s+\S+\s+\(/);
  });

  test('an unknown command or option is a usage error with exit code 2', async () => {
    assert.equal(await runGatehouse(['frobnicate']).exited, 2);
    assert.equal(await runGatehouse(['check', '--no-such-flag']).exited, 2);
  });
});

describe('gatehouse serve', () => {
  test('a bad config makes serve exit 1 with the error, before listening', async () => {
    const file = writeTempConfig(configYaml(routeYaml('wiki', '/', 'ftp://nope')));
    const proc = runGatehouse(['serve', '--config', file]);
    assert.equal(await proc.exited, 1);
    assert.match(proc.stderr(), /gateway\.yaml:\d+ routes\[0\]\.to: /);
  });

  test('a port already in use is one clear line and exit code 1', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as net.AddressInfo).port;
    const file = writeTempConfig(configYaml(routeYaml('wiki', '/', 'http://127.0.0.1:9'), `127.0.0.1:${port}`));
    const proc = runGatehouse(['serve', '--config', file]);
    t.after(() => proc.stop());
    assert.equal(await proc.exited, 1);
    const lines = proc.stderr().trim().split('\n');
    assert.equal(lines.length, 1, proc.stderr());
    assert.match(lines[0]!, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  });

  test('SIGHUP applies a valid new config and keeps the old one when the new one is invalid', async (t) => {
    const a = await startUpstream();
    const b = await startUpstream();
    t.after(() => Promise.all([a.close(), b.close()]));
    const file = writeTempConfig(configYaml(routeYaml('a', '/a', a.origin)));
    const { proc, port } = await startGatewayProcess(file);
    t.after(() => proc.stop());

    assert.equal((await request(port, { path: '/b/x', headers: { host: 'app.test' } })).status, 404);
    writeFileSync(file, configYaml(routeYaml('a', '/a', a.origin) + routeYaml('b', '/b', b.origin)));
    proc.child.kill('SIGHUP');
    await proc.waitForLog((line) => line.event === 'config.reloaded');
    assert.equal((await request(port, { path: '/b/x', headers: { host: 'app.test' } })).status, 200);
    assert.equal(b.requests.at(-1)?.url, '/b/x');

    writeFileSync(file, configYaml(routeYaml('a', '/a', a.origin)) + '  - name: broken\n    from: nope\n');
    proc.child.kill('SIGHUP');
    const failed = await proc.waitForLog((line) => line.event === 'config.reload_failed');
    assert.match(JSON.stringify(failed.errors), /routes\[1\]/);
    assert.equal((await request(port, { path: '/b/y', headers: { host: 'app.test' } })).status, 200, 'old config still serves');
    assert.equal(proc.child.exitCode, null);
  });

  test('reloading under load loses no request', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const file = writeTempConfig(configYaml(routeYaml('a', '/', upstream.origin)));
    const { proc, port } = await startGatewayProcess(file);
    t.after(() => proc.stop());

    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    t.after(() => agent.destroy());
    const total = 600;
    let sent = 0;
    const statuses: number[] = [];
    const worker = async () => {
      while (sent < total) {
        sent += 1;
        const response = await request(port, { path: `/item/${sent}`, headers: { host: 'app.test' }, agent });
        statuses.push(response.status);
      }
    };
    const load = Promise.all(Array.from({ length: 20 }, worker));
    for (let i = 0; i < 5; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 40));
      writeFileSync(file, configYaml(routeYaml('a', '/', upstream.origin) + routeYaml(`extra${i}`, `/extra${i}`, upstream.origin)));
      proc.child.kill('SIGHUP');
    }
    await load;
    assert.equal(statuses.length, total);
    assert.deepEqual(statuses.filter((status) => status !== 200), []);
    assert.ok(proc.logs.filter((line) => line.event === 'config.reloaded').length >= 1);
  });

  test('SIGTERM finishes the request in flight, refuses new connections and exits 0', async (t) => {
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => res.end('finished'), 800);
    });
    t.after(() => slow.close());
    const file = writeTempConfig(configYaml(routeYaml('slow', '/', slow.origin)));
    const { proc, port } = await startGatewayProcess(file);
    t.after(() => proc.stop());

    const inFlight = request(port, { path: '/work', headers: { host: 'app.test' }, agent: new http.Agent({ keepAlive: true }) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    proc.child.kill('SIGTERM');
    const response = await inFlight;
    assert.equal(response.status, 200);
    assert.equal(response.text(), 'finished');
    assert.equal(await proc.exited, 0);
    await assert.rejects(request(port, { path: '/', headers: { host: 'app.test' } }), /ECONNREFUSED/);
    assert.ok(proc.logs.some((line) => line.event === 'gateway.stopped'));
  });
});
