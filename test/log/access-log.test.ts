/**
 * The hand-built `request` line: the same shape as the gateway's pino lines, valid JSON
 * whatever a client puts in its Host header or path, one line per request, and never the
 * query string.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccessLog, jsonString, type AccessEntry } from '../../src/log/access-log.js';
import { captureLogs } from '../helpers/mail.js';
import { createLogger } from '../../src/log/logger.js';
import { request, startGateway, startUpstream } from '../helpers/servers.js';
import { eventually, rawRequest } from '../helpers/raw-http.js';

const ENTRY: AccessEntry = {
  requestId: 'abc-1',
  method: 'GET',
  host: 'app.test',
  path: '/wiki/page',
  route: 'wiki',
  status: 200,
  durationMs: 1.23456,
  outcome: '',
  aborted: false,
};

describe('access log line', () => {
  test('has the fields and base fields of every other log line', () => {
    const logs = captureLogs();
    logs.logger.info({ event: 'other' });
    createAccessLog(logs.logger).write(ENTRY);
    const [other, line] = logs.records();
    assert.deepEqual(Object.keys(line!).slice(0, 4), Object.keys(other!).slice(0, 4), 'level, time, service, pid first, as pino writes them');
    assert.equal(line!.level, 'info');
    assert.equal(typeof line!.time, 'number');
    assert.equal(line!.service, 'gatehouse');
    assert.equal(line!.pid, process.pid);
    assert.deepEqual(
      { ...line, time: 0 },
      { level: 'info', time: 0, service: 'gatehouse', pid: process.pid, event: 'request', req_id: 'abc-1', method: 'GET', host: 'app.test', path: '/wiki/page', route: 'wiki', status: 200, duration_ms: 1.23 },
    );
  });

  test('leaves out empty route and outcome, and says when the client went away', () => {
    const logs = captureLogs();
    createAccessLog(logs.logger).write({ ...ENTRY, route: '', host: undefined, outcome: 'no route', aborted: true, status: 404 });
    const [line] = logs.records();
    assert.equal('route' in line!, false);
    assert.equal('host' in line!, false);
    assert.equal(line!.outcome, 'no route');
    assert.equal(line!.aborted, true);
  });

  test('hostile values stay inside their field and on one line', () => {
    const logs = captureLogs();
    const hostile = 'evil.test","status":200,"x":"\\\n\r\u0000\u2028é😀';
    createAccessLog(logs.logger).write({ ...ENTRY, host: hostile, path: `/a"b\\c\n${hostile}`, status: 400 });
    assert.equal(logs.lines.length, 1);
    assert.equal(logs.lines[0]!.split('\n').length, 2, 'one line, ended by its newline');
    const [line] = logs.records();
    assert.equal(line!.host, hostile);
    assert.equal(line!.path, `/a"b\\c\n${hostile}`);
    assert.equal(line!.status, 400);
  });

  test('jsonString matches JSON.stringify for every kind of character', () => {
    for (const value of ['', 'plain', 'a"b', 'a\\b', '\u0000\u001f\u007f', 'é', '😀', '\ud800', 'x'.repeat(5000)]) {
      assert.equal(jsonString(value), JSON.stringify(value));
    }
  });

  test('is silent below level info', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    createAccessLog(logger).write(ENTRY);
    assert.deepEqual(lines, []);
  });
});

describe('access log through the gateway', () => {
  test('one line per request, with the path but never the query string', async (t) => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    t.after(() => upstream.close());
    const logs = captureLogs();
    const gw = await startGateway(
      `routes:
  - name: app
    from: http://app.test/
    to: ${upstream.origin}
    public: ["/**"]
`,
      { logger: logs.logger },
    );
    t.after(() => gw.close());
    assert.equal((await request(gw.port, { path: '/open/page?token=query-secret-1', headers: { host: 'app.test' } })).status, 200);
    // A target the gateway refuses is logged without its query too.
    const refused = await rawRequest(gw.port, 'GET /open/a%2Fb?token=query-secret-2 HTTP/1.1\r\nHost: app.test\r\nConnection: close');
    assert.equal(refused.status, 400);
    const lines = () => logs.records().filter((line) => line.event === 'request');
    await eventually(() => lines().length === 2, 5_000, 'two request lines');
    const [served, bad] = lines();
    assert.equal(served!.path, '/open/page');
    assert.equal(served!.route, 'app');
    assert.equal(served!.status, 200);
    assert.equal(bad!.status, 400);
    assert.equal(bad!.path, '/open/a%2Fb');
    assert.ok(!logs.lines.join('').includes('query-secret'), 'no query string in any log line');
  });
});
