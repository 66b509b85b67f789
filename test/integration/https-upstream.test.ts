/**
 * https upstreams with a private CA (SPEC section 2, `tls:`): the CA file makes the
 * certificate trusted, no CA means a 502 (never a silent downgrade), a certificate for
 * another name is refused even with the CA, and `insecure_skip_verify` works but warns.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { request, startGateway } from '../helpers/servers.js';
import { parseConfigText } from '../../src/config/load-config.js';

interface TestCertificates {
  readonly dir: string;
  readonly caFile: string;
  /** Key and certificate for IP 127.0.0.1, signed by the CA. */
  readonly server: { key: Buffer; cert: Buffer };
  /** Signed by the same CA, but for DNS:wrong.test only. */
  readonly wrongName: { key: Buffer; cert: Buffer };
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A throwaway CA and two leaf certificates, made with openssl (EC keys: fast). */
function createCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Gatehouse Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const leaf = (name: string, subjectAltName: string) => {
    writeFileSync(file(`${name}.ext`), `subjectAltName=${subjectAltName}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
    return { key: readFileSync(file(`${name}.key`)), cert: readFileSync(file(`${name}.pem`)) };
  };
  return { dir, caFile: file('ca.pem'), server: leaf('server', 'IP:127.0.0.1'), wrongName: leaf('wrong', 'DNS:wrong.test') };
}

async function startHttpsUpstream(credentials: { key: Buffer; cert: Buffer }) {
  let requests = 0;
  const server = https.createServer(credentials, (req, res) => {
    requests += 1;
    res.setHeader('content-type', 'text/plain');
    res.end(`secure hello ${req.url}`);
  });
  // WebSocket echo on the same TLS listener.
  const websockets = new WebSocketServer({ server });
  websockets.on('connection', (socket) => socket.on('message', (data) => socket.send(`secure echo ${String(data)}`)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of websockets.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function routeYaml(origin: string, tls: string): string {
  return `
routes:
  - name: secure
    from: http://app.test/
    to: ${origin}
    public: ["/**"]
    timeout: 5s
${tls}`;
}

describe('https upstreams', { timeout: 60_000 }, () => {
  let certs: TestCertificates | undefined;
  before(() => {
    if (hasOpenssl()) certs = createCertificates();
  });
  after(() => {
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  test('an upstream certificate signed by the configured tls.ca is trusted', async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const upstream = await startHttpsUpstream(certs.server);
    t.after(() => upstream.close());
    const gw = await startGateway(routeYaml(upstream.origin, `    tls: { ca: "${certs.caFile}" }\n`));
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/hello?x=1', headers: { host: 'app.test' } });
    assert.equal(response.status, 200);
    assert.equal(response.text(), 'secure hello /hello?x=1');
  });

  test('a WebSocket to an upstream with a certificate from the configured tls.ca is relayed', async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const upstream = await startHttpsUpstream(certs.server);
    t.after(() => upstream.close());
    const gw = await startGateway(routeYaml(upstream.origin, `    tls: { ca: "${certs.caFile}" }\n`));
    t.after(() => gw.close());
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/socket`, { headers: { host: 'app.test' } });
    t.after(() => ws.terminate());
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (data) => resolve(String(data)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
    assert.equal(reply, 'secure echo ping');
  });

  test('without tls.ca a private certificate is refused with 502 and nothing is served', async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const upstream = await startHttpsUpstream(certs.server);
    t.after(() => upstream.close());
    const gw = await startGateway(routeYaml(upstream.origin, ''));
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/hello', headers: { host: 'app.test' } });
    assert.equal(response.status, 502);
    assert.ok(!response.text().includes('secure hello'));
    assert.ok(!response.text().includes('127.0.0.1'));
    assert.equal(upstream.requests(), 0);
  });

  test('a certificate from the configured CA but for another name is refused with 502', async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const upstream = await startHttpsUpstream(certs.wrongName);
    t.after(() => upstream.close());
    const gw = await startGateway(routeYaml(upstream.origin, `    tls: { ca: "${certs.caFile}" }\n`));
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/hello', headers: { host: 'app.test' } });
    assert.equal(response.status, 502);
    assert.equal(upstream.requests(), 0);
  });

  test('insecure_skip_verify accepts the certificate and the config warns about it', async (t) => {
    if (!certs) return t.skip('openssl is not installed');
    const upstream = await startHttpsUpstream(certs.wrongName);
    t.after(() => upstream.close());
    const yaml = routeYaml(upstream.origin, '    tls: { insecure_skip_verify: true }\n');
    const { warnings } = parseConfigText(yaml, 'test.yaml', {});
    const warning = warnings.find((text) => text.includes('insecure_skip_verify'));
    assert.ok(warning, `warnings: ${JSON.stringify(warnings)}`);
    assert.match(warning, /^test\.yaml:\d+ /);
    assert.match(warning, /secure/, 'the warning names the route');
    const gw = await startGateway(yaml);
    t.after(() => gw.close());
    const response = await request(gw.port, { path: '/hello', headers: { host: 'app.test' } });
    assert.equal(response.status, 200);
    assert.equal(response.text(), 'secure hello /hello');
  });

  test('a config without insecure_skip_verify has no such warning', () => {
    const { warnings } = parseConfigText(routeYaml('https://127.0.0.1:9', ''), 'test.yaml', {});
    assert.ok(!warnings.some((text) => text.includes('insecure_skip_verify')), JSON.stringify(warnings));
  });
});
