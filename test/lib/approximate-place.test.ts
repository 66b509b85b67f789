import { test } from 'node:test';
import assert from 'node:assert/strict';
import { approximatePlaceOf } from '../../src/lib/approximate-place.js';

test('public addresses name their country, from the data the library ships', () => {
  // Addresses MaxMind's own test data places (the UK's 81.2.69.x, Germany's 2a02:8070::).
  assert.deepEqual(approximatePlaceOf('81.2.69.142'), { kind: 'country', code: 'GB' });
  assert.deepEqual(approximatePlaceOf('::ffff:81.2.69.142'), { kind: 'country', code: 'GB' });
  assert.deepEqual(approximatePlaceOf('2a02:8070::1'), { kind: 'country', code: 'DE' });
});

test('loopback and private addresses are the local network, not a country', () => {
  for (const address of ['127.0.0.1', '::1', '10.1.2.3', '172.20.0.5', '192.168.1.10', '::ffff:192.168.1.10', 'fd00::1', 'fe80::1', '100.64.0.1']) {
    assert.deepEqual(approximatePlaceOf(address), { kind: 'local' }, address);
  }
});

test('what is not an address, or is in no country, is unknown', () => {
  for (const address of ['', 'unknown', '999.1.1.1', '2001:db8::1', '0.0.0.0']) {
    assert.equal(approximatePlaceOf(address).kind, 'unknown', address);
  }
});
