/**
 * `npm run soak`: mixed traffic against a gateway started as users start it (the built CLI,
 * logs on), for SOAK_SECONDS (default 120): signed-in requests, public paths, anonymous
 * requests that must be refused, malformed requests, sign-ins with mail to a local SMTP
 * sink, 10 MiB downloads and WebSocket echoes, from SOAK_CLIENTS (default 8) loops at once.
 *
 * It fails (exit 1) when any answer has a status it should not, when the gateway's RSS keeps
 * growing (the last third of the run above the middle third by more than SOAK_RSS_GROWTH_MB,
 * default 40), or when file descriptors leak (more open once the load has stopped and idle
 * connections have closed than before it started, beyond a few). Everything listens on
 * loopback and is stopped by pid at the end.
 */
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { startTestSmtpServer } from '../test/helpers/mail.js';
import { median, onStop, send, signIn, startGateway, startPortPrinter, stopEverything } from './harness.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 8);
const RSS_GROWTH_MB = Number(process.env.SOAK_RSS_GROWTH_MB ?? 40);
const FD_SLACK = 8;
const DOWNLOAD_BYTES = 10 * 1024 * 1024;
const HOST = 'app.test';

interface Tally {
  ok: number;
  wrong: Map<string, number>;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((text) => text.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A request whose status line is not HTTP at all: answered 400, never a crash. */
function malformed(port: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', () => undefined);
    socket.end('GET /%zz/../\u0001 HTTP/1.1\r\nHost: app.test\r\n\r\n', 'latin1');
  });
}

function download(port: number, cookie: string): Promise<number> {
  return new Promise((resolve, reject) => {
    Promise.resolve()
      .then(() => {
        const req = http.get({ host: '127.0.0.1', port, path: `/download?bytes=${DOWNLOAD_BYTES}`, headers: { host: HOST, cookie }, agent: false }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.length));
          res.on('end', () => resolve(res.statusCode === 200 && bytes === DOWNLOAD_BYTES ? 200 : -(res.statusCode ?? 0)));
          res.on('error', reject);
        });
        req.on('error', reject);
      })
      .catch(reject);
  });
}

function webSocketEcho(port: number, cookie: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { host: HOST, origin: `http://${HOST}`, cookie } });
    let echoed = 0;
    socket.on('open', () => {
      for (let i = 0; i < 5; i += 1) socket.send(`message ${i}`);
    });
    socket.on('message', () => {
      echoed += 1;
      if (echoed === 5) socket.close();
    });
    socket.on('close', () => resolve(echoed === 5 ? 101 : -101));
    socket.on('error', () => resolve(-101));
  });
}

async function main(): Promise<number> {
  const upstream = await startPortPrinter('./upstream-server.ts');
  const smtp = await startTestSmtpServer();
  onStop(() => smtp.close());
  const gateway = await startGateway(upstream.port, smtp.port, 'memory');
  const pid = gateway.pid;
  const cookies: string[] = [];
  for (let i = 0; i < 4; i += 1) cookies.push(await signIn(gateway.port, smtp, `soak${i}@example.com`));

  const fdsBefore = openFds(pid);
  const tally: Tally = { ok: 0, wrong: new Map() };
  const expect = (what: string, got: number, want: number) => {
    if (got === want) tally.ok += 1;
    else tally.wrong.set(`${what}: ${got}`, (tally.wrong.get(`${what}: ${got}`) ?? 0) + 1);
  };
  let signIns = 0;
  let signInChain: Promise<void> = Promise.resolve();
  const operations: Array<() => Promise<void>> = [
    async () => expect('signed in', (await send(gateway.port, { path: '/page', headers: { host: HOST, cookie: cookies[0]! } })).status, 200),
    async () => expect('public', (await send(gateway.port, { path: '/public/page', headers: { host: HOST } })).status, 200),
    async () => expect('anonymous', (await send(gateway.port, { path: '/secret', headers: { host: HOST, accept: 'application/json' } })).status, 401),
    async () => expect('forged cookie', (await send(gateway.port, { path: '/secret', headers: { host: HOST, accept: 'application/json', cookie: 'gatehouse=s%3Aforged.sig' } })).status, 401),
    async () => expect('malformed', await malformed(gateway.port), 400),
    async () => expect('download', await download(gateway.port, cookies[1]!), 200),
    async () => expect('websocket', await webSocketEcho(gateway.port, cookies[2]!), 101),
    async () => {
      // One at a time: signIn reads the newest mail as its own.
      const turn = signInChain.then(async () => {
        signIns += 1;
        await signIn(gateway.port, smtp, `soak-new-${signIns % 50}@example.com`);
        tally.ok += 1;
      });
      signInChain = turn.catch(() => undefined);
      await turn;
    },
  ];
  // Weights: mostly small signed-in requests, some of everything else.
  const weights = [40, 10, 10, 5, 5, 2, 5, 1];
  const pick = () => {
    let roll = Math.random() * weights.reduce((sum, weight) => sum + weight, 0);
    for (let i = 0; i < weights.length; i += 1) if ((roll -= weights[i]!) < 0) return operations[i]!;
    return operations[0]!;
  };

  const deadline = Date.now() + SECONDS * 1000;
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb(pid)), 1000);
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (Date.now() < deadline) {
      try {
        await pick()();
      } catch (error) {
        const key = `error: ${error instanceof Error ? error.message : String(error)}`;
        tally.wrong.set(key, (tally.wrong.get(key) ?? 0) + 1);
      }
    }
  });
  await Promise.all(loops);
  clearInterval(sampler);

  // This process's idle keep-alive connections are closed, so what stays open at the gateway
  // is its own: listeners, logs, the upstream pool (a small slack).
  http.globalAgent.destroy();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const fdsAfter = openFds(pid);
  const third = Math.floor(samples.length / 3);
  const middle = median(samples.slice(third, 2 * third));
  const last = median(samples.slice(2 * third));
  const growth = last - middle;

  const problems: string[] = [];
  for (const [what, count] of tally.wrong) problems.push(`${count} × ${what}`);
  if (growth > RSS_GROWTH_MB) problems.push(`RSS grew ${growth.toFixed(1)} MB from the middle third to the last (limit ${RSS_GROWTH_MB} MB)`);
  if (fdsAfter > fdsBefore + FD_SLACK) problems.push(`${fdsAfter - fdsBefore} more file descriptors open after the load (${fdsBefore} → ${fdsAfter})`);

  console.log(`soak: ${SECONDS} s, ${CLIENTS} clients, ${tally.ok} answers as expected, ${signIns} sign-ins`);
  console.log(`  RSS: middle third ${middle.toFixed(1)} MB, last third ${last.toFixed(1)} MB, peak ${Math.max(...samples).toFixed(1)} MB`);
  console.log(`  file descriptors: ${fdsBefore} before, ${fdsAfter} after`);
  for (const problem of problems) console.log(`  FAIL ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

main()
  .then(async (code) => {
    await stopEverything();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    console.error(error);
    await stopEverything();
    process.exit(1);
  });
