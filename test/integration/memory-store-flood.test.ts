/**
 * A flood of code requests against the memory store (SPEC section 4): once the store's room
 * for code requests is used up, new ones get 503, but nothing is evicted — signed-in guests
 * keep working and an address locked after wrong codes stays locked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FormClient, hiddenField } from '../helpers/form-client.js';
import { codeFromMail, mailTo, signIn, startSignInWorld, submitCode, submitEmail } from '../helpers/sign-in-world.js';
import { wrongCode } from '../helpers/codes.js';

test('a flood of code requests fills only its share of the memory store: sessions and locks survive', async (t) => {
  const world = await startSignInWorld('memory', 'trust_proxy: ["127.0.0.1/32"]', undefined, undefined, '', { memoryMaxEntries: 400 });
  t.after(() => world.close());

  const guest = world.client();
  assert.equal((await signIn(world, guest, 'guest@example.com')).status, 303);
  assert.equal((await guest.get('/private')).status, 200);

  // Lock bob@example.com: ten wrong codes, over two codes.
  const bob = world.client();
  for (let round = 1; round <= 2; round += 1) {
    const { codePage } = await submitEmail(bob, 'bob@example.com');
    const code = codeFromMail(await mailTo(world.smtp, 'bob@example.com', round));
    for (let i = 0; i < 5; i += 1) await submitCode(bob, codePage!, wrongCode(code));
    world.advance(31_000);
  }
  assert.equal((await submitEmail(bob, 'bob@example.com')).post.status, 429, 'bob is locked');

  // The flood: fresh addresses from fresh clients (behind the trusted proxy), until refused.
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 400 && refused < 20; i += 1) {
    const flooder = new FormClient(world.gw.port, 'app.test', { accept: 'text/html', 'x-forwarded-for': `198.51.${100 + Math.floor(i / 250)}.${i % 250}` });
    const form = await flooder.get('/.gatehouse/login');
    const asked = await flooder.postForm('/.gatehouse/login', { email: `flood-${i}@example.com`, csrf: hiddenField(form.text(), 'csrf') });
    if (asked.status === 303) accepted += 1;
    else {
      assert.equal(asked.status, 503, `a refused code request is a 503, got ${asked.status}`);
      refused += 1;
    }
  }
  assert.ok(accepted > 0 && refused >= 20, `${accepted} accepted, then ${refused} refused`);

  assert.equal((await guest.get('/private')).status, 200, 'the signed-in guest keeps working');
  assert.equal((await submitEmail(bob, 'bob@example.com')).post.status, 429, 'the lock was not reset');
  world.advance(61 * 60_000);
  assert.equal((await guest.get('/private')).status, 200, 'an hour later the guest is still signed in');
});
