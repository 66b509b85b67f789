/**
 * SIGTERM is bounded when mails wait for an SMTP server that accepts connections and never
 * answers: the real `gatehouse serve` process, 25 code mails waiting, exits within seconds
 * (it took 50 s before: each waiting mail's socket timeout was awaited in turn), and each
 * waiting mail is logged as failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { FormClient } from '../helpers/form-client.js';
import { startGatewayProcess, writeTempConfig } from '../helpers/process.js';
import { SECRET, submitEmail } from '../helpers/sign-in-world.js';

test('SIGTERM with 25 mails waiting for a hung SMTP server exits within seconds', { timeout: 60_000 }, async () => {
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  const config = writeTempConfig(`
listen: 127.0.0.1:0
admin: { listen: "off" }
session: { secret: ${SECRET}, store: memory }
mail:
  transport: smtp
  from: "Gatehouse <gate@example.test>"
  smtp: { url: "smtp://127.0.0.1:${(hung.address() as AddressInfo).port}" }
routes:
  - name: app
    from: http://app.test/
    to: builtin:whoami
    allow: ["*@example.com"]
`);
  const { proc, port } = await startGatewayProcess(config);
  try {
    // From 25 client addresses, so no per-client limit stands in the way.
    for (let i = 0; i < 25; i += 1) {
      const { codePage } = await submitEmail(new FormClient(port, 'app.test', { accept: 'text/html' }, `127.0.${i + 1}.1`), `guest${i}@example.com`, { rd: 'http://app.test/' });
      assert.equal(codePage?.status, 200);
    }
    while (sockets.size === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    proc.child.kill('SIGTERM');
    const outcome = await Promise.race([proc.exited.then((code) => `exited ${code}`), new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
    assert.equal(outcome, 'exited 0');
    const failed = proc.logs.filter((line) => line.event === 'mail.failed');
    assert.equal(failed.length, 25, 'every waiting mail is reported as not sent');
    assert.equal(proc.logs.filter((line) => line.event === 'otp.sent').length, 0);
  } finally {
    await proc.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
  }
});
