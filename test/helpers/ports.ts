/**
 * Port numbers for servers whose port a test must write down before they start: a gateway's
 * admin listener in its YAML, `redis-server`, nginx, a port nothing listens on.
 *
 * They come from below the kernel's ephemeral range. A port taken with listen(0) and released
 * is soon handed out again, to another test file's listen(0) or outgoing connection running
 * beside it, and the server meant for it then fails with EADDRINUSE (seen in CI, more than
 * once). Below that range the kernel hands nothing out by itself: only another test picking
 * the same number at random could clash, and each pick is checked free when it is made.
 * The numbers stay 10,000 below that range so that Redis Cluster's bus port (port + 10,000)
 * is below it too.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The lowest port of the kernel's ephemeral range (listen(0) and outgoing connections). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (low > 0) return low;
  } catch {
    // not Linux: the IANA range
  }
  return 49_152;
}

const COUNT = 12_000;
const LOWEST = Math.max(1024, ephemeralLow() - 10_000 - COUNT);
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A loopback port nothing listens on now and that no other call in this process returned. */
export async function unusedLoopbackPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * COUNT);
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free loopback port between ${LOWEST} and ${LOWEST + COUNT} after 100 tries`);
}
