/**
 * Guest lifecycle: `gatehouse invite` mails an invitation and lets the guest sign in through
 * `allow: invited`; `uninvite` and an expired invitation cut an open session at once; the
 * admin API needs its token, and a revocation on one gateway reaches another within a second.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, startGateway, startUpstream } from '../helpers/servers.js';
import { FormClient } from '../helpers/form-client.js';
import { runGatehouse, startGatewayProcess } from '../helpers/process.js';
import { redisSkipReason, uniqueRedisPrefix, REDIS_URL } from '../helpers/redis.js';
import { SECRET, signIn, type SignInWorld } from '../helpers/sign-in-world.js';
import { captureLogs, parseRawMail, startTestSmtpServer } from '../helpers/mail.js';
import { SESSION_CACHE_MAX_AGE_MS } from '../../src/session/session-cache.js';
import { createSoftAuthenticator } from '../helpers/soft-authenticator.js';
import { addPasskey, passkeySignIn } from '../helpers/passkey-client.js';

const TOKEN = 'admin-token-for-tests-0123456789abcdef';

let skip: string | undefined;
before(async () => {
  skip = await redisSkipReason();
});

async function lifecycleWorld(t: { after: (fn: () => Promise<unknown>) => void }, options: { clock?: () => number } = {}) {
  const upstream = await startUpstream();
  const smtp = await startTestSmtpServer();
  t.after(() => Promise.all([upstream.close(), smtp.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-guests-'));
  const guests = join(dir, 'guests.yaml');
  const prefix = uniqueRedisPrefix();
  const yaml = (adminPort: string) => `listen: 127.0.0.1:0
admin: { listen: "127.0.0.1:${adminPort}", token: "${TOKEN}" }
invitations: { file: "${guests}" }
session:
  secret: ${SECRET}
  store:
    redis: { url: "${REDIS_URL}", prefix: "${prefix}" }
mail:
  transport: smtp
  smtp: { url: "smtp://127.0.0.1:${smtp.port}" }
routes:
  - name: wiki
    from: http://wiki.test/
    to: ${upstream.origin}
    allow: ["invited"]
`;
  const logs = captureLogs();
  const gw = await startGateway(yaml('0'), { logger: logs.logger, clock: options.clock });
  t.after(() => gw.close());
  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(configFile, yaml(String(gw.adminPort)));
  const world = { gw, upstream, smtp, logs } as unknown as SignInWorld;
  return { gw, upstream, smtp, logs, world, guests, configFile, yaml, dir };
}

/** What a CLI run printed on stdout (its non-JSON lines), as text. */
function printed(run: ReturnType<typeof runGatehouse>): string {
  return run.logs.map((line) => (typeof line.raw === 'string' ? `${line.raw}\n` : '')).join('');
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('invite mails the guest, who can then sign in; uninvite cuts the open session', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const w = await lifecycleWorld(t);
  const client = new FormClient(w.gw.port, 'wiki.test');
  assert.equal((await client.get('/')).status, 302);

  const invite = runGatehouse(['invite', 'Guest@Partner.test', '--route', 'wiki', '--expires', '30d', '--note', 'Q3 review', '--by', 'ops@corp.test', '--config', w.configFile]);
  assert.equal(await invite.exited, 0, invite.stderr());
  assert.match(invite.stderr(), /"event":"invite\.created".*"by":"ops@corp\.test"/);
  await eventually(async () => w.smtp.received.length === 1, 5000, 'the invitation mail');
  const mail = parseRawMail(w.smtp.received[0]!.raw);
  assert.deepEqual(w.smtp.received[0]!.rcptTo, ['guest@partner.test']);
  assert.match(mail.text, /http:\/\/wiki\.test\//);

  // The gateway notices the file change by itself (watch or 2 s poll).
  await eventually(async () => w.logs.records().some((line) => line.event === 'invitations.reloaded' && (line.count as number) >= 1), 8000, 'the invitations file being re-read');
  w.smtp.received.length = 0;
  assert.equal((await signIn(w.world, client, 'guest@partner.test', 'http://wiki.test/')).status, 303);
  assert.equal((await client.get('/page')).status, 200);
  // The guest adds a passkey; ops see it.
  const device = createSoftAuthenticator();
  assert.equal((await addPasskey(client, device, 'Phone')).status, 200);
  const listed = runGatehouse(['passkeys', 'guest@partner.test', '--config', w.configFile]);
  assert.equal(await listed.exited, 0, listed.stderr());
  assert.match(printed(listed), /^EMAIL +NAME +HOST +CREATED +LAST USED +ID\nguest@partner\.test +Phone +wiki\.test /);

  const uninvite = runGatehouse(['uninvite', 'guest@partner.test', '--config', w.configFile]);
  assert.equal(await uninvite.exited, 0, uninvite.stderr());
  assert.match(uninvite.stderr(), /"event":"invite\.removed"/);
  assert.match(printed(uninvite), /removed 1 passkey\(s\) of guest@partner\.test/);
  await eventually(async () => (await client.get('/page')).status !== 200, 5000, 'the open session being cut');
  // Invited again later, the passkey does not let them back in: they start from a code.
  const { answer } = await passkeySignIn(new FormClient(w.gw.port, 'wiki.test'), device);
  assert.deepEqual([answer.status, answer.json.reason], [400, 'unknown_passkey']);
  const after = runGatehouse(['passkeys', '--config', w.configFile]);
  assert.equal(await after.exited, 0, after.stderr());
  assert.equal(printed(after), 'No passkeys.\n');
});

test('an expired invitation stops access at once, also for a session that already exists', { timeout: 60_000 }, async (t) => {
  if (skip) return t.skip(skip);
  let offset = 0;
  const w = await lifecycleWorld(t, { clock: () => Date.now() + offset });
  writeFileSync(w.guests, `- email: guest@partner.test\n  routes: [wiki]\n  expires: "${new Date(Date.now() + 3_600_000).toISOString()}"\n`);
  const client = new FormClient(w.gw.port, 'wiki.test');
  await eventually(async () => w.logs.records().some((line) => line.event === 'invitations.reloaded' && (line.count as number) >= 1), 8000, 'the invitations file being read');
  assert.equal((await signIn(w.world, client, 'guest@partner.test', 'http://wiki.test/')).status, 303);
  assert.equal((await client.get('/x')).status, 200);
  offset = 2 * 3_600_000;
  assert.equal((await client.get('/x', { accept: 'application/json' })).status, 403, 'the invitation expired an hour ago');
});

test('the admin API needs its token; a revocation on gateway A stops the session on gateway process B within a second', { timeout: 90_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const w = await lifecycleWorld(t);
  writeFileSync(w.guests, '- email: guest@partner.test\n  routes: [wiki]\n');
  // Gateway B is a separate process sharing the Redis store (and the invitations file).
  const fileB = join(w.dir, 'gateway-b.yaml');
  writeFileSync(fileB, w.yaml('0').replace(/admin: \{[^}]*\}/, 'admin: { listen: "off" }'));
  const processB = await startGatewayProcess(fileB);
  t.after(() => processB.proc.stop());
  const b = { port: processB.port };
  await eventually(async () => w.logs.records().some((line) => line.event === 'invitations.reloaded' && (line.count as number) >= 1), 8000, 'the invitations file being read');
  const onA = new FormClient(w.gw.port, 'wiki.test');
  assert.equal((await signIn(w.world, onA, 'guest@partner.test', 'http://wiki.test/')).status, 303);
  const onB = new FormClient(b.port, 'wiki.test');
  onB.cookies.set('gatehouse', onA.cookies.get('gatehouse')!);
  assert.equal((await onB.get('/x')).status, 200);

  assert.equal((await request(w.gw.adminPort!, { path: '/api/sessions' })).status, 401);
  assert.equal((await request(w.gw.adminPort!, { path: '/api/sessions', headers: { authorization: 'Bearer wrong' } })).status, 401);
  const listed = await request(w.gw.adminPort!, { path: '/api/sessions?email=guest@partner.test', headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(listed.status, 200);
  assert.equal(listed.json<{ sessions: Array<{ email: string }> }>().sessions[0]?.email, 'guest@partner.test');

  const sessions = runGatehouse(['sessions', '--config', w.configFile]);
  assert.equal(await sessions.exited, 0, sessions.stderr());
  assert.match(sessions.logs.map((line) => line.raw).join('\n'), /guest@partner\.test/);

  // Access review: activity is written in batches (every few seconds), then reported.
  for (let i = 0; i < 3; i += 1) assert.equal((await onA.get(`/doc/${i}`)).status, 200);
  await eventually(async () => {
    const report = await request(w.gw.adminPort!, { path: '/api/report?days=7', headers: { authorization: `Bearer ${TOKEN}` } });
    const guest = report.json<{ guests: Array<{ email: string; requests: Record<string, number> }> }>().guests.find((row) => row.email === 'guest@partner.test');
    return (guest?.requests.wiki ?? 0) >= 3;
  }, 10_000, 'the activity reaching the report');
  const csv = runGatehouse(['report', '--format', 'csv', '--config', w.configFile]);
  assert.equal(await csv.exited, 0, csv.stderr());
  const csvText = csv.logs.map((line) => line.raw).join('\n');
  assert.match(csvText, /^email,invitation,invited_routes,expires,invited_by,last_sign_in,last_request,requests_30d,inactive$/m);
  assert.match(csvText, /^guest@partner\.test,active,wiki,,,20\d\d-.*,wiki:\d+,$/m);

  const revokedAt = Date.now();
  const revoke = runGatehouse(['revoke', 'guest@partner.test', '--config', w.configFile]);
  assert.equal(await revoke.exited, 0, revoke.stderr());
  assert.match(revoke.stderr(), /"event":"session\.revoked".*"count":1/);
  let lastSuccess = -1;
  for (;;) {
    const sentAt = Date.now() - revokedAt;
    const status = (await onB.get('/x')).status;
    if (status !== 200) break;
    lastSuccess = sentAt;
    assert.ok(sentAt < 3000, 'gateway B never stopped the revoked session');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.ok(lastSuccess < SESSION_CACHE_MAX_AGE_MS + 1000, `B let the revoked session through ${lastSuccess} ms after the revoke command started`);
});

test('concurrent invite commands lose no entry', { timeout: 90_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const w = await lifecycleWorld(t);
  const emails = Array.from({ length: 6 }, (_, index) => `guest${index}@partner.test`);
  const runs = emails.map((email) => runGatehouse(['invite', email, '--route', 'wiki', '--config', w.configFile]));
  const codes = await Promise.all(runs.map((run) => run.exited));
  assert.deepEqual(codes, emails.map(() => 0), runs.map((run) => run.stderr()).join('\n'));
  const { readInvitationFile } = await import('../../src/invitations/invitation-store.js');
  const listed = (await readInvitationFile(w.guests)).map((entry) => entry.email).sort();
  assert.deepEqual(listed, [...emails].sort());
});
