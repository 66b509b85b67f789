/**
 * Redis Cluster (SPEC section 8): the gateway works across the cluster's slots. Every command
 * it sends names one key, so no two keys have to share a slot and no hash tags are needed:
 * sessions, codes, counters and indexes spread over all primaries. Real processes: three
 * `redis-server --cluster-enabled yes` joined by `redis-cli --cluster create`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from '../helpers/servers.js';
import { eventually } from '../helpers/raw-http.js';
import { signedInCookie, startSignInWorld, type SignInWorld } from '../helpers/sign-in-world.js';
import { redisCli, redisServerSkipReason, startRedisCluster, type RedisClusterProcesses } from '../helpers/redis-processes.js';
import { uniqueRedisPrefix } from '../helpers/redis.js';

const skip = redisServerSkipReason();

describe('Redis Cluster', { skip }, () => {
  let cluster: RedisClusterProcesses;
  let world: SignInWorld;
  const prefix = uniqueRedisPrefix();

  before(async () => {
    cluster = await startRedisCluster();
    // One node named is enough: the client discovers the others.
    world = await startSignInWorld({ yaml: `    redis:\n      cluster: { nodes: ["127.0.0.1:${cluster.nodes[0]!.port}"] }\n      prefix: "${prefix}"` });
  });
  after(async () => {
    await world?.close();
    await cluster?.stop();
  });

  test('sign-ins, sessions and sign-out work with keys spread over every primary', async () => {
    const guests = Array.from({ length: 12 }, (_, index) => `guest-${index}@example.com`);
    const cookies: string[] = [];
    for (const email of guests) cookies.push(await signedInCookie(world, email));
    for (const cookie of cookies) {
      const answer = await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } });
      assert.equal(answer.status, 200);
    }
    // Each primary holds some of the gateway's keys: the gateway really uses the whole cluster.
    const keysPerNode = cluster.nodes.map((node) => redisCli(node.port, ['--scan', '--pattern', `${prefix}*`]).split('\n').filter(Boolean).length);
    assert.ok(keysPerNode.every((count) => count > 0), `keys on every primary: ${keysPerNode.join(', ')}`);
    const sessionsPerNode = cluster.nodes.map((node) => redisCli(node.port, ['--scan', '--pattern', `${prefix}sess:*`]).split('\n').filter(Boolean).length);
    assert.equal(
      sessionsPerNode.reduce((sum, count) => sum + count, 0),
      guests.length,
      'every session is stored once',
    );

    // Sign-out deletes the session wherever its slot lives; the guest is asked to sign in again.
    const signOut = await request(world.gw.port, { path: '/.gatehouse/logout', headers: { host: 'app.test', cookie: cookies[0]! } });
    assert.ok([200, 303].includes(signOut.status), `sign-out answered ${signOut.status}`);
    const after = await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie: cookies[0]!, accept: 'text/html' } });
    assert.notEqual(after.status, 200, 'a signed-out session is not let in');

    const readiness = await request(world.gw.adminPort!, { path: '/readyz' });
    assert.equal(readiness.status, 200);
  });

  test('resharding under load: slots move between primaries, no session is lost, nobody is let in', async () => {
    const guests = Array.from({ length: 8 }, (_, index) => `moving-${index}@example.com`);
    const cookies: string[] = [];
    for (const email of guests) cookies.push(await signedInCookie(world, email));
    const idOf = (port: number): string => redisCli(port, ['cluster', 'myid']);
    const [from, to] = [cluster.nodes[0]!, cluster.nodes[1]!];
    const statuses: number[] = [];
    let loading = true;
    const loop = async (cookie: string): Promise<void> => {
      for (let sent = 0; loading && sent < 5_000; sent += 1) {
        statuses.push((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } })).status);
      }
    };
    const strangers: number[] = [];
    const strangerLoop = async (): Promise<void> => {
      for (let sent = 0; loading && sent < 5_000; sent += 1) {
        strangers.push((await request(world.gw.port, { path: '/', headers: { host: 'app.test', accept: 'text/html', cookie: 'gatehouse=s%3Aforged.sig' } })).status);
      }
    };
    const load = Promise.all([...cookies.map(loop), strangerLoop()]);
    const before = world.upstream.requests.length;
    // Moves keys with MIGRATE while the gateway reads and writes them: MOVED and ASK answers.
    // Asynchronously: the load keeps running while redis-cli moves the keys.
    const moved = await promisify(execFile)(
      'redis-cli',
      ['--cluster', 'reshard', `127.0.0.1:${from.port}`, '--cluster-from', idOf(from.port), '--cluster-to', idOf(to.port), '--cluster-slots', '3000', '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    loading = false;
    await load;
    assert.match(moved.stdout, /Moving slot/);
    assert.ok(statuses.length > 0 && statuses.every((status) => status === 200), `guests got ${[...new Set(statuses)].join(', ')}`);
    assert.ok(strangers.every((status) => status !== 200 && status < 500), `strangers got ${[...new Set(strangers)].join(', ')}`);
    assert.ok(world.upstream.requests.slice(before).every((r) => typeof r.headers['x-auth-request-email'] === 'string'), 'the app saw only signed-in guests');
    for (const cookie of cookies) assert.equal((await request(world.gw.port, { path: '/', headers: { host: 'app.test', cookie } })).status, 200);
    console.log(`# resharding: 3000 slots moved during ${statuses.length} guest requests`);
  });

  test('/readyz is 503 while one primary is down: a third of the sessions would fail', async () => {
    const readiness = async (): Promise<number> => (await request(world.gw.adminPort!, { path: '/readyz' })).status;
    assert.equal(await readiness(), 200);
    const node = cluster.nodes[2]!;
    process.kill(node.pid, 'SIGSTOP');
    try {
      await eventually(async () => (await readiness()) === 503, 10_000, '/readyz says not ready');
    } finally {
      process.kill(node.pid, 'SIGCONT');
    }
    await eventually(async () => (await readiness()) === 200, 10_000, '/readyz is ready again without a restart');
  });
});
