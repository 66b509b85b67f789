import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { startTestSmtpServer } from '../test/helpers/mail.js';
import { onStop, signIn, startGateway, startPortPrinter, stopEverything } from './harness.js';
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return [Number(f[11]) * 10000, Number(f[12]) * 10000]; };
async function run(name: string, pid: number, opts: autocannon.Options) {
  await autocannon({ connections: 50, duration: 3, ...opts });
  for (let i = 0; i < 2; i++) {
    const [u0, s0] = cpu(pid);
    const r = await autocannon({ connections: 50, duration: 5, ...opts });
    const [u1, s1] = cpu(pid);
    const n = r.requests.total;
    console.log(`${name}: ${Math.round(n / 5)} req/s user ${((u1! - u0!) / n).toFixed(1)} µs sys ${((s1! - s0!) / n).toFixed(1)} µs`);
  }
}
async function main() {
  const upstream = await startPortPrinter('./upstream-server.ts');
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  const bare = await startPortPrinter('./bare-proxy.ts', [String(upstream.port)], { core: '1' });
  const gw = await startGateway(upstream.port, smtp.port, 'memory');
  const cookie = await signIn(gw.port, smtp, 'bench@example.com');
  for (let k = 0; k < 2; k++) {
    await run('bare', bare.child.pid!, { url: `http://127.0.0.1:${bare.port}/page` });
    await run('memory', gw.child.pid!, { url: `http://127.0.0.1:${gw.port}/page`, headers: { host: 'app.test', cookie } });
    await run('public', gw.child.pid!, { url: `http://127.0.0.1:${gw.port}/public/page`, headers: { host: 'app.test' } });
  }
}
main().then(stopEverything).finally(() => setTimeout(() => process.exit(), 2000).unref());
