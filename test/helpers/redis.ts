/**
 * Redis for tests: REDIS_URL or redis://127.0.0.1:6379. Without a reachable Redis the tests
 * that need it are skipped with a visible notice, except under CI, where that is a failure
 * (SPEC section 1).
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Resolves true when something answers PING at REDIS_URL within a second. */
export async function redisIsReachable(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(/PONG|NOAUTH/.test(data.toString())));
  });
}

/** The reason to skip Redis tests, or undefined to run them. Throws under CI. */
export async function redisSkipReason(): Promise<string | undefined> {
  if (await redisIsReachable()) return undefined;
  if (process.env.CI) throw new Error(`Redis is not reachable at ${REDIS_URL}, and CI is set: Redis tests must run`);
  return `Redis is not reachable at ${REDIS_URL}: Redis tests skipped`;
}

/** A key prefix no other test run uses. */
export function uniqueRedisPrefix(): string {
  return `gatehouse-test:${randomBytes(6).toString('hex')}:`;
}
