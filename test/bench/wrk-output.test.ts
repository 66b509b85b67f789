/** The bench reads wrk's text report: request counts, bytes read, its own clock, latencies and errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrkOutput, wrkBytes, wrkDurationMs } from '../../bench/wrk.js';

// wrk 4.1's report for 10 downloads at once, with --latency and the bench's non-2xx line.
const DOWNLOADS = `Running 3s test @ http://127.0.0.1:40125/download
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   150.12ms   60.40ms 950.68ms   88.00%
    Req/Sec    60.11     12.30    80.00     70.00%
  Latency Distribution
     50%  114.24ms
     75%  160.01ms
     90%  210.50ms
     99%  950.68ms
  183 requests in 3.08s, 1.83GB read
Requests/sec:     59.36
Transfer/sec:    608.42MB
gatehouse-bench non-2xx: 0
`;

// Many short answers, some errors, a latency in seconds (wrk pads "2.01s" with a space).
const SHORT_ANSWERS = `Running 3s test @ http://127.0.0.1:40125/page
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.20ms   10.10ms   2.01s    98.00%
    Req/Sec    10.2k     1.10k   12.00k    80.00%
  Latency Distribution
     50%    4.09ms
     75%    5.00ms
     90%    6.00ms
     99%    2.01s 
  30.4k requests in 3.00s, 36.38MB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:  10122.04
Transfer/sec:     12.13MB
gatehouse-bench non-2xx: 7
`;

test('a download report gives the bytes read and how long wrk ran', () => {
  const result = parseWrkOutput(DOWNLOADS);
  assert.equal(result.requests, 183);
  assert.equal(result.seconds, 3.08);
  assert.equal(result.bytesRead, 1.83 * 1024 ** 3);
  assert.equal(result.requestsPerSecond, 59.36);
  assert.equal(result.p50, 114.24);
  assert.equal(result.p99, 950.68);
  assert.equal(result.non2xx, 0);
  assert.equal(result.socketErrors, 0);
});

test('abbreviated counts, latencies in seconds and socket errors are read too', () => {
  const result = parseWrkOutput(SHORT_ANSWERS);
  assert.equal(result.requests, 30_400);
  assert.equal(result.bytesRead, 36.38 * 1024 ** 2);
  assert.equal(Math.round(result.p99), 2010);
  assert.equal(result.non2xx, 7);
  assert.equal(result.socketErrors, 6);
});

test('a report without its summary line is refused', () => {
  assert.throws(() => parseWrkOutput(DOWNLOADS.replace(/^.*requests in.*$/m, '')), /summary line/);
});

for (const [text, bytes] of [['512.00B', 512], ['3.50KB', 3584], ['1.00MB', 1048576], ['2.00GB', 2 * 1024 ** 3]] as const) {
  test(`wrk's ${text} is ${bytes} bytes`, () => assert.equal(wrkBytes(text), bytes));
}

for (const [text, ms] of [['850.00us', 0.85], ['1.23ms', 1.23], ['3.08s', 3080], ['1.00m', 60_000]] as const) {
  test(`wrk's ${text} is ${ms} ms`, () => assert.ok(Math.abs(wrkDurationMs(text) - ms) < 1e-9));
}
