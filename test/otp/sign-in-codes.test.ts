/**
 * The sign-in code service on the memory store with a clock the test moves: where a
 * browser's sign-in stands after each thing a guest can do (what the code page shows), and
 * that consuming a code stays the one step that decides a sign-in.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createSignInCodeService, FLOW_MEMORY_MS, type OtpSettings } from '../../src/otp/sign-in-codes.js';

const MINUTE = 60_000;
const SETTINGS: OtpSettings = {
  digits: 6,
  ttl: 10 * MINUTE,
  max_attempts: 5,
  resend_after: 30_000,
  max_per_email: { count: 5, windowMs: 60 * MINUTE },
  max_per_ip: { count: 30, windowMs: 60 * MINUTE },
  max_failures_per_email: { count: 10, windowMs: 60 * MINUTE },
};

function service() {
  let now = Date.parse('2026-12-01T10:00:00Z');
  const clock = () => now;
  const store = createMemoryStore({ clock });
  let flows = 0;
  const codes = createSignInCodeService({ store, settings: () => SETTINGS, secrets: () => ['s'.repeat(32)], clock, newFlowId: () => `flow-${(flows += 1)}-abcdefghijkl` });
  const ask = async (email: string, flowId?: string) => {
    const outcome = await codes.requestCode({ email, allowed: true, clientAddress: '192.0.2.1', flowId });
    return outcome;
  };
  return { codes, ask, advance: (ms: number) => (now += ms), close: () => store.close() };
}

const wrongFor = (code: string) => (code === '000000' ? '111111' : '000000');

describe('where a sign-in stands', () => {
  test('after a code is sent: a live code, all tries left, a wait before the next', async (t) => {
    const { codes, ask, close } = service();
    t.after(close);
    const issued = await ask('bob@example.com');
    assert.equal(issued.kind, 'issued');
    const status = await codes.describeSignIn(issued.kind === 'issued' ? issued.flowId : '');
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
    assert.equal((await codes.describeSignIn(second.kind === 'cooldown' ? second.flowId : ''))?.state, 'no_code');
    const sameBrowser = await ask('bob@example.com', 'flow-1-abcdefghijkl');
    assert.equal(sameBrowser.kind, 'cooldown');
    assert.equal((await codes.describeSignIn('flow-1-abcdefghijkl'))?.state, 'code_sent', 'the asking browser keeps its code');
  });

  test('expired, used and dead codes are told apart, and forgotten an hour after the code', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    const expired = await ask('late@example.com');
    advance(11 * MINUTE);
    assert.equal((await codes.describeSignIn((expired as { flowId: string }).flowId))?.state, 'expired');
    const used = (await ask('used@example.com')) as { flowId: string; code: string };
    assert.equal((await codes.checkCode({ flowId: used.flowId, typedCode: used.code })).kind, 'signed_in');
    assert.equal((await codes.describeSignIn(used.flowId))?.state, 'used');
    assert.equal((await codes.checkCode({ flowId: used.flowId, typedCode: used.code })).kind, 'not_pending', 'never twice');
    const dead = (await ask('dead@example.com')) as { flowId: string; code: string };
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: dead.flowId, typedCode: wrongFor(dead.code) });
    assert.equal((await codes.describeSignIn(dead.flowId))?.state, 'dead');
    assert.equal((await codes.checkCode({ flowId: dead.flowId, typedCode: dead.code })).kind, 'not_pending');
    advance(SETTINGS.ttl + FLOW_MEMORY_MS + MINUTE);
    assert.equal(await codes.describeSignIn(used.flowId), undefined);
  });

  test('ten wrong codes lock the address, across codes; the lock shows on every flow of it', async (t) => {
    const { codes, ask, advance, close } = service();
    t.after(close);
    const first = (await ask('guess@example.com')) as { flowId: string; code: string };
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: first.flowId, typedCode: wrongFor(first.code) });
    advance(31_000);
    const second = (await ask('guess@example.com', first.flowId)) as { flowId: string; code: string };
    assert.equal(second.flowId, first.flowId, 'the same browser keeps its flow');
    assert.equal((await codes.describeSignIn(second.flowId))?.attemptsLeft, 5, 'a new code gets fresh tries');
    for (let i = 0; i < 5; i += 1) await codes.checkCode({ flowId: second.flowId, typedCode: wrongFor(second.code) });
    const status = await codes.describeSignIn(second.flowId);
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
    if (first.code !== second.code) assert.equal((await codes.checkCode({ flowId: first.flowId, typedCode: first.code })).kind, 'wrong_code');
    assert.equal((await codes.checkCode({ flowId: first.flowId, typedCode: second.code })).kind, 'signed_in');
  });
});

test('of many parallel checks of the right code exactly one signs in', async (t) => {
  const { codes, ask, close } = service();
  t.after(close);
  const issued = (await ask('bob@example.com')) as { flowId: string; code: string };
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => codes.checkCode({ flowId: issued.flowId, typedCode: issued.code })));
  assert.equal(outcomes.filter((outcome) => outcome.kind === 'signed_in').length, 1);
});
