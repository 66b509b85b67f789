/**
 * A flood of code requests for made-up addresses from many clients, against a mail server
 * slower than the flood (issue 14; SPEC section 4): the mail outbox holds at most its places,
 * so what the flood makes the gateway hold is bounded. Past them every address, allowed or
 * not, gets the same 503 with Retry-After, before any limit, code or store entry is spent; a
 * signed-in guest keeps working; and once the mail server catches up, a guest's code is
 * mailed again. Every wait is for an event (a mail, a log line), never for time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient } from '../helpers/form-client.js';
import { eventually } from '../helpers/raw-http.js';
import { signIn, startSignInWorld, submitEmail, waitForMails } from '../helpers/sign-in-world.js';

const OUTBOX_PLACES = 8;

test('a flood of code requests from many clients fills only the mail outbox; past it every address gets the same 503, and sign-in comes back', async (t) => {
  let mailServerHolds: Promise<void> = Promise.resolve();
  let letMailsThrough: () => void = () => {};
  const world = await startSignInWorld('memory', '', undefined, undefined, '', {
    memoryMaxEntries: 10_000,
    maxPendingMails: OUTBOX_PLACES,
    smtp: { acceptWhen: () => mailServerHolds },
  });
  t.after(() => world.close());
  const store = world.store!;
  const sentEvents = () => world.logs.records().filter((record) => record.event === 'otp.sent').length;
  // Each flooding request from a loopback address of its own: no per-client limit applies.
  const client = (host: number) => new FormClient(world.gw.port, 'app.test', { accept: 'text/html' }, `127.0.3.${host}`);

  const guest = world.client();
  assert.equal((await signIn(world, guest, 'guest@example.com')).status, 303);
  await eventually(() => sentEvents() === 1, 5_000, "the guest's mail has left the outbox");

  // From now on the mail server takes every message but answers none until the test says.
  mailServerHolds = new Promise<void>((resolve) => (letMailsThrough = resolve));
  let accepted = 0;
  let firstRefusal: Awaited<ReturnType<typeof submitEmail>>['post'] | undefined;
  for (let i = 1; i <= 3 * OUTBOX_PLACES && !firstRefusal; i += 1) {
    const { post } = await submitEmail(client(i), `flood-${i}@example.com`);
    if (post.status === 303) accepted += 1;
    else firstRefusal = post;
  }
  assert.equal(accepted, OUTBOX_PLACES, 'as many codes as the outbox has places');
  assert.ok(firstRefusal, 'then the flood is refused');
  assert.equal(firstRefusal.status, 503);
  assert.equal(firstRefusal.headers['retry-after'], '60');
  assert.match(firstRefusal.text(), /Too many sign-ins right now/);

  // Allowed or not, the same answer; and a refused request writes nothing to the store.
  const entriesBefore = store.size;
  const allowed = (await submitEmail(client(100), 'someone@example.com')).post;
  const notAllowed = (await submitEmail(client(101), 'mallory@elsewhere.test')).post;
  assert.equal(store.size, entriesBefore, 'no code, counter or cooldown was written for a refused request');
  const withoutRequestId = (text: string) => text.replace(/<span class="request-id">[^<]*<\/span>/g, '');
  for (const answer of [allowed, notAllowed]) {
    assert.equal(answer.status, 503);
    assert.equal(answer.headers['retry-after'], '60');
  }
  assert.equal(withoutRequestId(allowed.text()), withoutRequestId(notAllowed.text()), 'the page does not tell allowed from not-allowed addresses');
  assert.deepEqual(Object.keys(allowed.headers).sort(), Object.keys(notAllowed.headers).sort());

  assert.equal((await guest.get('/private')).status, 200, 'the signed-in guest keeps working during the flood');

  // The mail server catches up: the codes that had a place are all delivered, none dropped.
  letMailsThrough();
  await waitForMails(world.smtp, 1 + OUTBOX_PLACES, 10_000);
  await eventually(() => sentEvents() === 1 + OUTBOX_PLACES, 5_000, 'the outbox has emptied');
  assert.equal(world.logs.records().filter((record) => record.event === 'mail.failed').length, 0, 'no mail was dropped: the flood was refused before a code was made');
  assert.equal(world.logs.records().filter((record) => record.event === 'otp.requested' && record.outcome === 'outbox_full').length, 3);

  // A guest on another client signs in: asked for, mailed and accepted.
  const late = new FormClient(world.gw.port, 'app.test', { accept: 'text/html' }, '127.0.4.1');
  assert.equal((await signIn(world, late, 'late@example.com')).status, 303);
  assert.equal((await late.get('/private')).status, 200);
  // Every answer was whole: no handler tried to answer twice (a code sign-in used to).
  assert.equal(world.logs.records().filter((record) => record.event === 'request.crashed').length, 0);
});
