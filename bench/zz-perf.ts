import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
import { startTestSmtpServer } from '../test/helpers/mail.js';
import { onStop, signIn, startGateway, startPortPrinter, stopEverything } from './harness.js';
async function run(name: string, pid: number, opts: autocannon.Options) {
  await autocannon({ connections: 50, duration: 4, ...opts });
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '4000', '-g', '-o', `/tmp/perf-${name}.data`, '-p', String(pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const r = await autocannon({ connections: 50, amount: 50000, ...opts });
  perf.kill('SIGINT');
  await new Promise((r) => perf.once('exit', r));
  console.log(`${name}: ${r.requests.total} requests`);
}
async function main() {
  const upstream = await startPortPrinter('./upstream-server.ts');
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  const bare = await startPortPrinter('./bare-proxy.ts', [String(upstream.port)], { core: '1', env: { NODE_OPTIONS: '--perf-basic-prof' } });
  const gw = await startGateway(upstream.port, smtp.port, 'memory');
  const cookie = await signIn(gw.port, smtp, 'bench@example.com');
  await run('bare', bare.child.pid!, { url: `http://127.0.0.1:${bare.port}/page` });
  await run('memory', gw.child.pid!, { url: `http://127.0.0.1:${gw.port}/page`, headers: { host: 'app.test', cookie } });
}
main().then(stopEverything).finally(() => setTimeout(() => process.exit(), 2000).unref());
