/** The client address behind trusted proxies, and the key a client's limits are counted under. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientAddressOf, createProxyTrust } from '../../src/proxy/forwarded-headers.js';
import { clientLimitKey } from '../../src/otp/client-key.js';
import { parseCidr } from '../../src/config/values.js';

const trust = createProxyTrust(['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8'].map((cidr) => parseCidr(cidr)!));

function requestFrom(peer: string, forwardedFor?: string): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } } as unknown as IncomingMessage;
}

describe('clientAddressOf', () => {
  const cases: Array<[string, string, string | undefined, boolean, string]> = [
    ['an untrusted peer is the client, whatever it claims', '203.0.113.9', '198.51.100.1', false, '203.0.113.9'],
    ['behind one trusted proxy: the address it appended', '127.0.0.1', '198.51.100.1', true, '198.51.100.1'],
    ['a client-sent entry left of the real one is ignored', '127.0.0.1', '6.6.6.6, 198.51.100.1', true, '198.51.100.1'],
    ['trusted hops are skipped from the right', '127.0.0.1', '6.6.6.6, 198.51.100.1, 10.1.2.3, 10.9.9.9', true, '198.51.100.1'],
    ['every hop trusted: the leftmost', '127.0.0.1', '10.1.1.1, 10.2.2.2', true, '10.1.1.1'],
    ['no header: the trusted peer itself', '127.0.0.1', undefined, true, '127.0.0.1'],
    ['IPv4 with a port, IPv6 in brackets', '127.0.0.1', '[2001:db8::7]:443, 198.51.100.1:5555', true, '198.51.100.1'],
    ['bracketed IPv6', '127.0.0.1', '[2001:DB8::7]:443', true, '2001:db8::7'],
    ['garbage written by a hop: the last address vouched for', '127.0.0.1', 'not-an-address, 10.1.1.1', true, '10.1.1.1'],
    ['an IPv4-mapped peer', '::ffff:203.0.113.9', undefined, false, '203.0.113.9'],
  ];
  for (const [name, peer, header, peerTrusted, expected] of cases) {
    test(name, () => assert.equal(clientAddressOf(requestFrom(peer, header), trust, peerTrusted), expected));
  }
});

describe('clientLimitKey', () => {
  const cases: Array<[string, string]> = [
    ['203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ];
  for (const [address, key] of cases) test(`${address} counts as ${key}`, () => assert.equal(clientLimitKey(address), key));
});
