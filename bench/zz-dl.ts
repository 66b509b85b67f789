import http from 'node:http';
import { startTestSmtpServer } from '../test/helpers/mail.js';
import { onStop, signIn, startGateway, startPortPrinter, stopEverything } from './harness.js';
const BYTES = 256 * 1024 * 1024;
function dl(port: number, headers: http.OutgoingHttpHeaders): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: `/download?bytes=${BYTES}`, headers }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(BYTES / 1048576 / (Number(process.hrtime.bigint() - t0) / 1e9)));
    }).on('error', reject);
  });
}
async function main() {
  const upstream = await startPortPrinter('./upstream-server.ts');
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  const bare = await startPortPrinter('./bare-proxy.ts', [String(upstream.port)], { core: '1' });
  const gw = await startGateway(upstream.port, smtp.port, 'memory');
  const cookie = await signIn(gw.port, smtp, 'bench@example.com');
  const direct = [] as number[], b = [] as number[], g = [] as number[];
  for (let i = 0; i < 4; i++) {
    direct.push(await dl(upstream.port, {}));
    b.push(await dl(bare.port, {}));
    g.push(await dl(gw.port, { host: 'app.test', cookie }));
  }
  console.log('direct', direct.map(Math.round).join(' '));
  console.log('bare', b.map(Math.round).join(' '));
  console.log('gateway', g.map(Math.round).join(' '));
}
main().then(stopEverything).finally(() => setTimeout(() => process.exit(), 2000).unref());
