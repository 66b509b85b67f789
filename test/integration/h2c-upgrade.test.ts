/**
 * `Upgrade: h2c` (what `curl --http2 http://…` sends) is ignored: the request is served as
 * HTTP/1.1 by the same pipeline, on public and protected paths alike, and never tunnelled
 * (SPEC section 4). Tested with the real curl, and with the exact bytes curl sends when a
 * body and a second pipelined request follow.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { startSignInWorld, signIn, type SignInWorld } from '../helpers/sign-in-world.js';

const run = promisify(execFile);

async function curlSkipReason(): Promise<string | undefined> {
  try {
    await run('curl', ['--version']);
    return undefined;
  } catch {
    if (process.env.CI) throw new Error('curl is not installed, and CI is set: the h2c test must run with the real curl');
    return 'curl is not installed (apt-get install curl): the real-curl h2c tests skipped';
  }
}

/** Runs curl --http2 against the gateway and returns status, HTTP version and body. */
async function curlHttp2(port: number, path: string, args: string[] = []): Promise<{ status: number; version: string; body: string }> {
  const { stdout } = await run('curl', [
    '--http2',
    '--silent',
    '--max-time',
    '10',
    '--connect-to',
    `app.test:80:127.0.0.1:${port}`,
    ...args,
    '--write-out',
    '\n%{http_code} %{http_version}',
    `http://app.test${path}`,
  ]);
  const cut = stdout.lastIndexOf('\n');
  const [status, version] = stdout.slice(cut + 1).split(' ');
  return { status: Number(status), version: version!, body: stdout.slice(0, cut) };
}

/** Writes `bytes` on one connection and resolves with everything read until the gateway closes it. */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no close within 5 s; got: ${received}`)));
    socket.write(bytes, 'latin1');
  });
}

describe('Upgrade: h2c is served as HTTP/1.1', () => {
  let curlSkip: string | undefined;
  let world: SignInWorld;
  let upgradesAtApp = 0;
  before(async () => {
    curlSkip = await curlSkipReason();
    world = await startSignInWorld('memory');
    world.upstream.server.on('upgrade', (_req, socket) => {
      upgradesAtApp += 1;
      socket.destroy();
    });
  });
  after(() => world.close());

  test('curl --http2 on a public path gets the app over HTTP/1.1, without the upgrade headers', async (t) => {
    if (curlSkip) return t.skip(curlSkip);
    const answer = await curlHttp2(world.gw.port, '/open/readme?x=1');
    assert.deepEqual([answer.status, answer.version], [200, '1.1']);
    const seen = world.upstream.requests.at(-1)!;
    assert.equal(seen.url, '/open/readme?x=1');
    for (const name of ['upgrade', 'http2-settings']) assert.equal(seen.headers[name], undefined, name);
    assert.doesNotMatch(String(seen.headers.connection ?? ''), /upgrade/i);
  });

  test('curl --http2 on a protected path gets the sign-in answer (302 for a page, 401 for an API call)', async (t) => {
    if (curlSkip) return t.skip(curlSkip);
    const before = world.upstream.requests.length;
    const page = await curlHttp2(world.gw.port, '/private', ['--header', 'Accept: text/html']);
    assert.deepEqual([page.status, page.version], [302, '1.1']);
    const api = await curlHttp2(world.gw.port, '/private');
    assert.equal(api.status, 401);
    assert.equal(JSON.parse(api.body).error, 'unauthenticated');
    assert.equal(world.upstream.requests.length, before, 'nothing reached the app');
  });

  test('curl --http2 with a session passes with the identity headers, like any request', async (t) => {
    if (curlSkip) return t.skip(curlSkip);
    const client = world.client();
    await signIn(world, client, 'bob@example.com');
    const answer = await curlHttp2(world.gw.port, '/private/data', ['--header', `Cookie: ${client.cookieHeader()}`]);
    assert.equal(answer.status, 200);
    assert.equal(world.upstream.requests.at(-1)!.headers['x-auth-request-email'], 'bob@example.com');
  });

  test('a POST body after the h2c head, and a second request on the same connection, are both served', async () => {
    const head = (method: string, path: string, extra: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n${extra}\r\n`;
    const answer = await exchange(
      world.gw.port,
      `${head('POST', '/open/form', 'Content-Type: text/plain\r\nContent-Length: 11\r\n')}hello world` +
        `${head('POST', '/open/chunked', 'Transfer-Encoding: chunked\r\n')}5\r\nabcde\r\n0\r\n\r\n` +
        `GET /open/last HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(answer.match(/HTTP\/1\.1 200 /g)?.length, 3, answer);
    assert.doesNotMatch(answer, /HTTP\/1\.1 101/, "never switched protocols");
    const lastThree = world.upstream.requests.slice(-3);
    assert.deepEqual(lastThree.map((r) => [r.method, r.url, r.body.toString()]), [
      ['POST', '/open/form', 'hello world'],
      ['POST', '/open/chunked', 'abcde'],
      ['GET', '/open/last', ''],
    ]);
    assert.equal(upgradesAtApp, 0, 'no upgrade ever reached the app');
  });

  test('other upgrades the gateway does not speak are ignored the same way', async () => {
    const answer = await exchange(world.gw.port, 'GET /open/tls HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, close\r\nUpgrade: TLS/1.0\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(world.upstream.requests.at(-1)!.headers.upgrade, undefined);
  });
});
