/**
 * The sign-in code service on the memory store with a clock the test moves: where a
 * browser's sign-in stands after each thing a guest can do (what the code page shows), and
 * that consuming a code stays the one step that decides a sign-in.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createSignInCodeService, FLOW_MEMORY_MS, type OtpSettings } from '../../src/otp/sign-in-codes.js';
import { wrongCode } from '../helpers/codes.js';

const MINUTE = 60_000;
const CLIENT = '192.0.2.1';
const SETTINGS: OtpSettings = {
  digits: 8,
  ttl: 10 * MINUTE,
  max_attempts: 5,
  resend_after: 30_000,
  max_per_email: { count: 5, windowMs: 60 * MINUTE },
  max_per_ip: { count: 30, windowMs: 60 * MINUTE },
  max_failures_per_email: { count: 10, windowMs: 60 * MINUTE },
  max_failures_per_ip: { count: 20, windowMs: 24 * 60 * MINUTE },
};

function service() {
  let now = Date.parse('2026-12-01T10:00:00Z');
  const clock = () => now;
  const store = createMemoryStore({ clock });
  let flows = 0;
  const codes = createSignInCodeService({ store, settings: () => SETTINGS, secrets: () => ['s'.repeat(32)], clock, newFlowId: () => `flow-${(flows += 1)}-abcdefghijkl` });
  const ask = async (email: string, flowId?: string) => {
    const outcome = await codes.requestCode({ email, allowed: true, clientAddress: CLIENT, flowId });
    return outcome;
  };
  return { codes, ask, advance: (ms: number) => (now += ms), close: () => store.close() };
}

const wrongFor = wrongCode;

describe('where a sign-in stands', () => {
  test('after a code is sent: a live code, all tries left, a wait before the next', async (t) => {
    const { codes, ask, close } = service();
    t.after(close);
    const issued = await ask('bob@example.com');
    assert.equal(issued.kind, 'issued');
    const status = await codes.describeSignIn(issued.kind === 'issued' ? issued.flowId : '', CLIENT);
    assert.equal(status?.state, 'code_sent');
    assert.equal(status?.attemptsLeft, 5);
    assert.equal(status?.resendInMs, 30_000);
  });

  test('another browser asking within the wait gets no code of its own, and is told so', async (t) => {
    const { codes, ask, close } = service();
    t.after(close);
    await ask('bob@example.com');
    const second = await ask('bob@example.com');
    assert.equal(second.kind, 'cooldown');
    assert.equal((await codes.describeSignIn(second.kind === 'cooldown' ? second.flowId : '', CLIENT))?.state, 'no_code');
    const sameBrowser = await ask('bob@example.com', 'flow-1-abcdefghijkl');
    assert.equal(sameBrowser.kind, 'cooldown');
    assert.equal((await codes.describeSignIn('flow-1-abcdefghijkl', CLIENT))?.state, 'code_sent', 'the asking browser keeps its code');
  });

  test('expired, used and dead codes are told apart, and forgotten an hour after the code', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    const expired = await ask('late@example.com');
    advance(11 * MINUTE);
    assert.equal((await codes.describeSignIn((expired as { flowId: string }).flowId, CLIENT))?.state, 'expired');
    const used = (await ask('used@example.com')) as { flowId: string; code: string };
    assert.equal((await codes.checkCode({ flowId: used.flowId, typedCode: used.code, clientAddress: CLIENT })).kind, 'signed_in');
    assert.equal((await codes.describeSignIn(used.flowId, CLIENT))?.state, 'used');
    assert.equal((await codes.checkCode({ flowId: used.flowId, typedCode: used.code, clientAddress: CLIENT })).kind, 'not_pending', 'never twice');
    const dead = (await ask('dead@example.com')) as { flowId: string; code: string };
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: dead.flowId, typedCode: wrongFor(dead.code), clientAddress: CLIENT });
    assert.equal((await codes.describeSignIn(dead.flowId, CLIENT))?.state, 'dead');
    assert.equal((await codes.checkCode({ flowId: dead.flowId, typedCode: dead.code, clientAddress: CLIENT })).kind, 'not_pending');
    advance(SETTINGS.ttl + FLOW_MEMORY_MS + MINUTE);
    assert.equal(await codes.describeSignIn(used.flowId, CLIENT), undefined);
  });

  test('ten wrong codes lock the address, across codes; the lock shows on every flow of it', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    const first = (await ask('guess@example.com')) as { flowId: string; code: string };
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: first.flowId, typedCode: wrongFor(first.code), clientAddress: CLIENT });
    advance(31_000);
    const second = (await ask('guess@example.com', first.flowId)) as { flowId: string; code: string };
    assert.equal(second.flowId, first.flowId, 'the same browser keeps its flow');
    assert.equal((await codes.describeSignIn(second.flowId, CLIENT))?.attemptsLeft, 5, 'a new code gets fresh tries');
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: second.flowId, typedCode: wrongFor(second.code), clientAddress: CLIENT });
    const status = await codes.describeSignIn(second.flowId, CLIENT);
    assert.equal(status?.state, 'locked');
    assert.ok(status!.lockedForMs > 58 * MINUTE);
    assert.equal((await ask('guess@example.com')).kind, 'rate_limited');
  });

  test('a new code replaces the old one in the same browser: only the newest works', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    const first = (await ask('bob@example.com')) as { flowId: string; code: string };
    advance(31_000);
    const second = (await ask('bob@example.com', first.flowId)) as { flowId: string; code: string };
    if (first.code !== second.code) assert.equal((await codes.checkCode({ flowId: first.flowId, typedCode: first.code, clientAddress: CLIENT })).kind, 'wrong_code');
    assert.equal((await codes.checkCode({ flowId: first.flowId, typedCode: second.code, clientAddress: CLIENT })).kind, 'signed_in');
  });
});

test('of many parallel checks of the right code exactly one signs in', async (t) => {
  const { codes, ask, close } = service();
  t.after(close);
  const issued = (await ask('bob@example.com')) as { flowId: string; code: string };
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => codes.checkCode({ flowId: issued.flowId, typedCode: issued.code, clientAddress: CLIENT })));
  assert.equal(outcomes.filter((outcome) => outcome.kind === 'signed_in').length, 1);
});

describe('wrong-code budgets', () => {
  test('of many parallel wrong guesses, no more than the address budget are compared', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    // Ten codes of five tries each would be 50 guesses; the address allows 10 wrong ones an hour.
    let compared = 0;
    for (let round = 0; round < 5; round += 1) {
      const issued = (await ask('target@example.com', 'flow-target-abcdefghijkl')) as { kind: string; flowId: string; code: string };
      if (issued.kind !== 'issued') break;
      const outcomes = await Promise.all(Array.from({ length: 5 }, () => codes.checkCode({ flowId: issued.flowId, typedCode: wrongFor(issued.code), clientAddress: `192.0.2.${round + 10}` })));
      compared += outcomes.filter((outcome) => outcome.kind === 'wrong_code').length;
      advance(31_000);
    }
    assert.equal(compared, 10);
  });

  test('a client is stopped after its wrong codes for any number of addresses, and others are not', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    let compared = 0;
    for (let i = 0; i < 30; i += 1) {
      const issued = await codes.requestCode({ email: `made-up-${i}@example.com`, allowed: true, clientAddress: '2001:db8:1:2::1' });
      if (issued.kind !== 'issued') {
        assert.deepEqual([issued.kind, issued.kind === 'rate_limited' && issued.limit], ['rate_limited', 'client_locked']);
        break;
      }
      // Another address in the same /64: the same client.
      const outcome = await codes.checkCode({ flowId: issued.flowId, typedCode: wrongFor(issued.code), clientAddress: `2001:db8:1:2::${i + 2}` });
      if (outcome.kind === 'wrong_code') compared += 1;
      advance(1000);
    }
    assert.equal(compared, 20, 'max_failures_per_ip: 20 a day, whatever the address');
    const elsewhere = (await codes.requestCode({ email: 'guest@example.com', allowed: true, clientAddress: '2001:db8:1:3::1' })) as { flowId: string; code: string };
    assert.equal((await codes.checkCode({ flowId: elsewhere.flowId, typedCode: elsewhere.code, clientAddress: '2001:db8:1:3::1' })).kind, 'signed_in', 'a guest on another /64 signs in');
    const issued = (await ask('late@example.com')) as { kind: string };
    assert.equal(issued.kind, 'issued', 'the first client in the test is a different one');
  });

  test('a right code is not a wrong one: signing in gives back what the guess reserved', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    for (let i = 0; i < 25; i += 1) {
      const issued = (await ask(`guest${i}@example.com`)) as { flowId: string; code: string };
      assert.equal((await codes.checkCode({ flowId: issued.flowId, typedCode: issued.code, clientAddress: CLIENT })).kind, 'signed_in', `sign-in ${i + 1}`);
      advance(1000);
    }
  });
});
