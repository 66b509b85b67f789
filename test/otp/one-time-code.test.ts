import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanTypedCode, generateOneTimeCode, hashOneTimeCode, oneTimeCodeMatches } from '../../src/otp/one-time-code.js';

describe('one-time codes', () => {
  test('codes have exactly the configured number of digits, leading zeros kept', () => {
    assert.equal(generateOneTimeCode(6, () => 0), '000000');
    for (let i = 0; i < 200; i += 1) assert.match(generateOneTimeCode(8), /^\d{8}$/);
  });

  test('every digit value occurs (the generator is not stuck)', () => {
    const seen = new Set(Array.from({ length: 300 }, () => generateOneTimeCode(10)).join(''));
    assert.equal(seen.size, 10);
  });

  test('the stored hash is not the code, and matches only for the same flow, address and code', () => {
    const hash = hashOneTimeCode('secret-a', 'flow1', 'bob@example.com', '123456');
    assert.doesNotMatch(hash, /123456/);
    assert.equal(oneTimeCodeMatches(['secret-a'], 'flow1', 'bob@example.com', '123456', hash), true);
    assert.equal(oneTimeCodeMatches(['secret-a'], 'flow2', 'bob@example.com', '123456', hash), false, 'another browser');
    assert.equal(oneTimeCodeMatches(['secret-a'], 'flow1', 'eve@example.com', '123456', hash), false, 'another address');
    assert.equal(oneTimeCodeMatches(['secret-a'], 'flow1', 'bob@example.com', '123457', hash), false, 'another code');
    assert.equal(oneTimeCodeMatches(['secret-b', 'secret-a'], 'flow1', 'bob@example.com', '123456', hash), true, 'rotated secrets still verify');
    assert.equal(oneTimeCodeMatches(['secret-b'], 'flow1', 'bob@example.com', '123456', hash), false);
  });

  test('typed codes: spaces and dashes ignored, anything else refused', () => {
    assert.equal(cleanTypedCode(' 123 456 ', 6), '123456');
    assert.equal(cleanTypedCode('123-456', 6), '123456');
    assert.equal(cleanTypedCode('12345', 6), undefined);
    assert.equal(cleanTypedCode('12345a', 6), undefined);
    assert.equal(cleanTypedCode('１２３４５６', 6), undefined, 'full-width digits are not digits here');
  });
});
