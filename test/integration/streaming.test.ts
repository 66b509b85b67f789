/**
 * Bodies stream through the gateway without buffering: 1 GiB up and 1 GiB down pass through
 * a real gateway process while its resident memory stays under 200 MB. The process is the
 * built command (`npm test` builds first; run `npm run build` before this file alone).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { startUpstream } from '../helpers/servers.js';
import { startGatewayProcess, writeTempConfig } from '../helpers/process.js';

const GIB = Number(process.env.STREAM_TEST_BYTES ?? 1024 ** 3);
const CHUNK = Buffer.alloc(256 * 1024, 0x61);
const RSS_LIMIT_BYTES = 200 * 1024 * 1024;

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Writes `total` bytes to `stream`, respecting backpressure. */
async function writeBytes(stream: NodeJS.WritableStream, total: number): Promise<void> {
  let written = 0;
  while (written < total) {
    const chunk = total - written >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - written);
    written += chunk.length;
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
}

test('1 GiB up and 1 GiB down stream through the gateway with RSS under 200 MB', { timeout: 180_000 }, async (t) => {
  if (process.platform !== 'linux') return t.skip('reads RSS from /proc');
  const upstream = await startUpstream(
    (req, res) => {
      if (req.method === 'PUT') {
        let received = 0;
        req.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        req.on('end', () => res.end(String(received)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GIB });
      void writeBytes(res, GIB).then(() => res.end());
    },
    { bufferBody: false },
  );
  t.after(() => upstream.close());
  const file = writeTempConfig(`listen: 127.0.0.1:0
admin: { listen: "off" }
routes:
  - name: files
    from: http://files.test/
    to: ${upstream.origin}
    public: ["/**"]
    timeout: 120s
`);
  // The built command, as users run it: under tsx the loader and its source maps add to RSS.
  const { proc, port } = await startGatewayProcess(file, {}, { built: true });
  t.after(() => proc.stop());
  const pid = proc.child.pid!;

  let peakRss = residentBytes(pid);
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, residentBytes(pid));
  }, 50);
  t.after(() => clearInterval(sampler));

  const uploaded = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PUT', path: '/upload', headers: { host: 'files.test', 'content-length': GIB } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    void writeBytes(req, GIB).then(() => req.end());
  });
  assert.equal(uploaded, String(GIB), 'the upstream received every byte');

  const downloaded = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/download', headers: { host: 'files.test' } }, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        res.on('end', () => resolve(received));
        res.on('error', reject);
      })
      .on('error', reject);
  });
  assert.equal(downloaded, GIB, 'the client received every byte');
  clearInterval(sampler);
  peakRss = Math.max(peakRss, residentBytes(pid));
  assert.ok(peakRss < RSS_LIMIT_BYTES, `peak RSS ${Math.round(peakRss / 1048576)} MB`);
  t.diagnostic(`gateway peak RSS ${Math.round(peakRss / 1048576)} MB`);
});
