/**
 * Bodies and connections through the gateway (SPEC section 4, "Proxying to the upstream"):
 * bytes arrive exactly, upstream connections are reused, failures become 502/504 without
 * leaking internals, and a side that goes away is noticed on the other side, never a hang.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { request, startGateway, startUpstream } from '../helpers/servers.js';
import { unusedLoopbackPort } from '../helpers/ports.js';

const MIB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function startPublicRoute(upstreamOrigin: string, extra = '') {
  return startGateway(`
routes:
  - name: app
    from: http://app.test/
    to: ${upstreamOrigin}
    public: ["/**"]
${extra}`);
}

/** Rejects after `ms`, so a hang fails the test instead of stalling the suite. */
function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
    }),
  ]);
}

describe('bodies', { timeout: 60_000 }, () => {
  test('a 1 MiB binary POST with Content-Length and a chunked PUT arrive byte-exact', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const posted = randomBytes(MIB);
    const response = await request(gw.port, {
      method: 'POST',
      path: '/upload',
      headers: { host: 'app.test', 'content-type': 'application/octet-stream', 'content-length': posted.length },
      body: posted,
    });
    assert.equal(response.status, 200);

    const put = randomBytes(MIB);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'PUT', path: '/upload', headers: { host: 'app.test' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      // Uneven chunks, no Content-Length: Node sends Transfer-Encoding: chunked.
      for (let offset = 0; offset < put.length; offset += 65_537) req.write(put.subarray(offset, offset + 65_537));
      req.end();
    });
    assert.equal(chunked, 200);

    const [first, second] = upstream.requests;
    assert.equal(first!.method, 'POST');
    assert.equal(first!.headers['content-length'], String(MIB));
    assert.equal(sha256(first!.body), sha256(posted));
    assert.equal(second!.method, 'PUT');
    assert.equal(second!.headers['transfer-encoding'], 'chunked');
    assert.equal(sha256(second!.body), sha256(put));
  });

  test('an upload that waits for 100 Continue (curl does above 1 MiB) gets it and arrives whole; the expectation stays on this hop', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const body = randomBytes(2 * MIB);
    const outcome = await within(
      10_000,
      new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host: '127.0.0.1',
          port: gw.port,
          method: 'PUT',
          path: '/upload',
          headers: { host: 'app.test', expect: '100-continue', 'content-length': body.length },
          agent: false,
        });
        // The body goes only once the gateway said to go on, as curl does.
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ continued, status: res.statusCode! }));
        });
        req.on('error', reject);
      }),
      'the 100-continue upload',
    );
    assert.deepEqual(outcome, { continued: true, status: 200 });
    const [received] = upstream.requests;
    assert.equal(sha256(received!.body), sha256(body));
    assert.equal(received!.headers.expect, undefined, 'the app is not asked to send a second 100 Continue');
  });

  test('a 5 MiB response body arrives byte-exact, with and without Content-Length', async (t) => {
    const payload = randomBytes(5 * MIB);
    const upstream = await startUpstream((req, res) => {
      if (req.url === '/sized') res.setHeader('content-length', payload.length);
      res.setHeader('content-type', 'application/octet-stream');
      for (let offset = 0; offset < payload.length; offset += 100_003) res.write(payload.subarray(offset, offset + 100_003));
      res.end();
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    for (const path of ['/sized', '/chunked']) {
      const response = await request(gw.port, { path, headers: { host: 'app.test' } });
      assert.equal(response.status, 200);
      assert.equal(response.body.length, payload.length, path);
      assert.equal(sha256(response.body), sha256(payload), path);
    }
  });

  test('a download goes to the client socket in the chunks it arrived in, never as empty writes between them', async (t) => {
    // undici hands over an empty body span after about every socket read; each one written
    // was a system call per 64 KiB (docs/performance.md, lever 17).
    const payload = randomBytes(8 * MIB);
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-length', payload.length);
      res.end(payload);
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const socketPrototype = net.Socket.prototype as unknown as { write: (this: net.Socket, chunk: unknown, ...rest: unknown[]) => boolean };
    const write = socketPrototype.write;
    let writes = 0;
    let empty = 0;
    socketPrototype.write = function (chunk, ...rest) {
      writes += 1;
      // Node's own end() writes one empty string per response; a body chunk is a Buffer.
      if (chunk instanceof Uint8Array && chunk.length === 0) empty += 1;
      return write.call(this, chunk, ...rest);
    };
    t.after(() => (socketPrototype.write = write));
    const response = await request(gw.port, { path: '/', headers: { host: 'app.test' } });
    socketPrototype.write = write;
    assert.equal(response.status, 200);
    assert.equal(sha256(response.body), sha256(payload));
    assert.ok(writes > 8, `the body went out in ${writes} writes`);
    assert.equal(empty, 0, `${empty} of ${writes} writes were empty`);
  });
});

describe('connections', { timeout: 60_000 }, () => {
  test('50 sequential requests reuse at most 2 upstream connections', async (t) => {
    const upstream = await startUpstream();
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    for (let i = 0; i < 50; i++) {
      // A new client connection each time: reuse must happen on the upstream side.
      const response = await request(gw.port, { path: `/r/${i}`, headers: { host: 'app.test' } });
      assert.equal(response.status, 200);
    }
    assert.equal(upstream.requests.length, 50);
    assert.ok(upstream.connections() <= 2, `${upstream.connections()} upstream connections`);
  });

  test('200 concurrent requests across two upstreams all get their own upstream answer', async (t) => {
    const one = await startUpstream((req, res) => res.end(`one ${req.url}`));
    const two = await startUpstream((req, res) => res.end(`two ${req.url}`));
    t.after(() => Promise.all([one.close(), two.close()]));
    const gw = await startGateway(`
routes:
  - name: one
    from: http://one.test/
    to: ${one.origin}
    public: ["/**"]
  - name: two
    from: http://app.test/two
    to: ${two.origin}
    public: ["/**"]
`);
    t.after(() => gw.close());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    t.after(() => agent.destroy());
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const [host, path, expected] = i % 2 === 0 ? ['one.test', `/n/${i}`, `one /n/${i}`] : ['app.test', `/two/${i}`, `two /two/${i}`];
        return request(gw.port, { path, headers: { host }, agent }).then((response) => ({ response, expected }));
      }),
    );
    for (const { response, expected } of results) {
      assert.equal(response.status, 200);
      assert.equal(response.text(), expected);
    }
    assert.equal(one.requests.length, 100);
    assert.equal(two.requests.length, 100);
  });
});

describe('upstream failures', { timeout: 60_000 }, () => {
  test('an unreachable upstream gives a 502 page that does not name the internal address', async (t) => {
    const port = await unusedLoopbackPort();
    const gw = await startPublicRoute(`http://127.0.0.1:${port}`);
    t.after(() => gw.close());
    for (const accept of ['text/html', 'application/json']) {
      const response = await request(gw.port, { path: '/x', headers: { host: 'app.test', accept } });
      assert.equal(response.status, 502, accept);
      const body = response.text();
      assert.ok(body.length > 0);
      for (const leak of ['127.0.0.1', `:${port}`, 'ECONNREFUSED', 'connect']) assert.ok(!body.includes(leak), `${accept} body names ${leak}`);
    }
  });

  test('an upstream that never answers gets a 504 soon after the route timeout', async (t) => {
    const upstream = await startUpstream(() => {
      // Never answers.
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin, '    timeout: 300ms\n');
    t.after(() => gw.close());
    const started = Date.now();
    const response = await within(3000, request(gw.port, { path: '/slow', headers: { host: 'app.test' } }), '504');
    const elapsed = Date.now() - started;
    assert.equal(response.status, 504);
    assert.ok(elapsed >= 250 && elapsed < 1500, `answered after ${elapsed} ms`);
    assert.ok(!response.text().includes('127.0.0.1'));
  });

  /** GETs `/` through `port` and reports how the body ended, and when (ms after the request). */
  function download(port: number): Promise<{ complete: boolean; bytes: number; elapsedMs: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
      let settled = false;
      const done = (complete: boolean, bytes: number) => {
        if (settled) return;
        settled = true;
        resolve({ complete, bytes, elapsedMs: Date.now() - started });
      };
      const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host: 'app.test' }, agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => done(res.complete, bytes));
        res.on('error', () => done(false, bytes));
        res.on('close', () => done(res.complete, bytes));
      });
      req.on('error', () => done(false, 0));
      req.end();
    });
  }

  test('an upstream that stalls mid-body with its connection open: the response is cut soon after the route timeout', async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-length', MIB);
      res.write(Buffer.alloc(64 * 1024, 0x61));
      // …and nothing more, the socket left open.
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin, '    timeout: 300ms\n');
    t.after(() => gw.close());
    const outcome = await within(3000, download(gw.port), 'client outcome');
    assert.equal(outcome.complete, false, 'the stalled body must not look complete');
    assert.equal(outcome.bytes, 64 * 1024, 'what the app sent arrived');
    assert.ok(outcome.elapsedMs >= 250 && outcome.elapsedMs < 1500, `cut after ${outcome.elapsedMs} ms`);
  });

  test('a download slower than the route timeout in all but still moving arrives whole', async (t) => {
    const chunks = 8;
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-length', chunks * 1024);
      let sent = 0;
      // A chunk every 100 ms: 800 ms in all against a 300 ms timeout, never 300 ms without progress.
      const timer = setInterval(() => {
        res.write(Buffer.alloc(1024, 0x62));
        sent += 1;
        if (sent === chunks) {
          clearInterval(timer);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(timer));
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin, '    timeout: 300ms\n');
    t.after(() => gw.close());
    const outcome = await within(5000, download(gw.port), 'client outcome');
    assert.deepEqual({ complete: outcome.complete, bytes: outcome.bytes }, { complete: true, bytes: chunks * 1024 });
    assert.ok(outcome.elapsedMs >= 700, `it took ${outcome.elapsedMs} ms, so it outlasted the timeout`);
  });

  for (const framing of ['content-length', 'chunked'] as const) {
    test(`an upstream that dies mid-body (${framing}) gives the client an incomplete response, not a hang`, async (t) => {
      const upstream = await startUpstream((_req, res) => {
        if (framing === 'content-length') res.setHeader('content-length', MIB);
        res.write(Buffer.alloc(64 * 1024, 0x61));
        setTimeout(() => res.socket?.destroy(), 50);
      });
      t.after(() => upstream.close());
      const gw = await startPublicRoute(upstream.origin);
      t.after(() => gw.close());
      const outcome = await within(
        3000,
        new Promise<{ complete: boolean; bytes: number }>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/', headers: { host: 'app.test' }, agent: false }, (res) => {
            let bytes = 0;
            res.on('data', (chunk: Buffer) => (bytes += chunk.length));
            res.on('end', () => resolve({ complete: res.complete, bytes }));
            res.on('aborted', () => resolve({ complete: false, bytes }));
            res.on('error', () => resolve({ complete: false, bytes }));
            res.on('close', () => resolve({ complete: res.complete, bytes }));
          });
          req.on('error', () => resolve({ complete: false, bytes: 0 }));
          req.end();
        }),
        'client outcome',
      );
      assert.equal(outcome.complete, false, 'the cut body must not look complete');
      assert.ok(outcome.bytes < MIB);
    });
  }
});

describe('a side that goes away', { timeout: 60_000 }, () => {
  test('a client aborting mid-download closes the upstream response within 2 s', async (t) => {
    let upstreamClosedEarly: (value: boolean) => void = () => {};
    const upstreamClosed = new Promise<boolean>((resolve) => (upstreamClosedEarly = resolve));
    const upstream = await startUpstream((_req, res) => {
      res.setHeader('content-length', 100 * MIB);
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let sent = 0;
      // Slow and bounded: 64 KiB every 20 ms, at most 100 MiB.
      const timer = setInterval(() => {
        if (sent >= 100 * MIB) return clearInterval(timer);
        res.write(chunk);
        sent += chunk.length;
      }, 20);
      res.on('close', () => {
        clearInterval(timer);
        upstreamClosedEarly(!res.writableFinished);
      });
    });
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/big', headers: { host: 'app.test' }, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
      req.end();
    });
    const closedBeforeFinishing = await within(2000, upstreamClosed, 'upstream response close');
    assert.equal(closedBeforeFinishing, true);
  });

  test('a client aborting mid-upload aborts the upstream request within 2 s', async (t) => {
    let reportUpstreamEnd: (outcome: string) => void = () => {};
    const upstreamOutcome = new Promise<string>((resolve) => (reportUpstreamEnd = resolve));
    let reportUpstreamStarted: () => void = () => {};
    const upstreamStarted = new Promise<void>((resolve) => (reportUpstreamStarted = resolve));
    const upstream = await startUpstream(
      (req) => {
        reportUpstreamStarted();
        req.on('data', () => {});
        req.on('end', () => reportUpstreamEnd('end'));
        req.on('aborted', () => reportUpstreamEnd('aborted'));
        req.on('close', () => reportUpstreamEnd(req.complete ? 'end' : 'close'));
      },
      { bufferBody: false },
    );
    t.after(() => upstream.close());
    const gw = await startPublicRoute(upstream.origin);
    t.after(() => gw.close());
    const req = http.request({
      host: '127.0.0.1',
      port: gw.port,
      method: 'POST',
      path: '/upload',
      headers: { host: 'app.test', 'content-length': 50 * MIB },
      agent: false,
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(256 * 1024, 0x63));
    await within(2000, upstreamStarted, 'upstream request start');
    req.destroy();
    const outcome = await within(2000, upstreamOutcome, 'upstream request abort');
    assert.notEqual(outcome, 'end', 'the upstream must not see a complete body');
  });
});
