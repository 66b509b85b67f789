import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHostHeader } from '../../src/routes/host-header.js';

describe('parseHostHeader', () => {
  const accepted: readonly { name: string; value: string; defaultPort?: number; hostname: string; port: number }[] = [
    { name: 'a bare host gets the default port', value: 'example.com', hostname: 'example.com', port: 80 },
    { name: 'a bare host on https gets 443', value: 'example.com', defaultPort: 443, hostname: 'example.com', port: 443 },
    { name: 'an explicit port wins over the default', value: 'example.com:8080', defaultPort: 443, hostname: 'example.com', port: 8080 },
    { name: 'an explicit default port is the same port', value: 'example.com:80', hostname: 'example.com', port: 80 },
    { name: 'the host is lower-cased', value: 'WiKi.Example.COM', hostname: 'wiki.example.com', port: 80 },
    { name: 'one trailing dot is removed', value: 'example.com.', hostname: 'example.com', port: 80 },
    { name: 'a trailing dot before the port is removed', value: 'example.com.:8080', hostname: 'example.com', port: 8080 },
    { name: 'localhost is a host', value: 'localhost:8080', hostname: 'localhost', port: 8080 },
    { name: 'an IPv4 address is a host', value: '10.0.0.5:3000', hostname: '10.0.0.5', port: 3000 },
    { name: 'underscores are accepted in internal names', value: 'my_app.internal', hostname: 'my_app.internal', port: 80 },
    { name: 'punycode is accepted', value: 'xn--bcher-kva.example', hostname: 'xn--bcher-kva.example', port: 80 },
    { name: 'an IPv6 address loses its brackets', value: '[::1]', hostname: '::1', port: 80 },
    { name: 'an IPv6 address with a port', value: '[::1]:8080', hostname: '::1', port: 8080 },
    { name: 'an IPv6 address is lower-cased and canonical', value: '[FE80:0:0::1]', hostname: 'fe80::1', port: 80 },
    { name: 'the highest port is accepted', value: 'a:65535', hostname: 'a', port: 65535 },
  ];
  for (const { name, value, defaultPort = 80, hostname, port } of accepted) {
    test(`${name}: ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseHostHeader(value, defaultPort), { hostname, port });
    });
  }

  const rejected: readonly { name: string; value: string | undefined }[] = [
    { name: 'a missing header', value: undefined },
    { name: 'an empty header', value: '' },
    { name: 'a port without a host', value: ':8080' },
    { name: 'userinfo', value: 'user@evil.example' },
    { name: 'userinfo before the real host', value: 'good.example@evil.example' },
    { name: 'a path', value: 'example.com/admin' },
    { name: 'a backslash', value: 'example.com\\admin' },
    { name: 'a query', value: 'example.com?x' },
    { name: 'a space', value: 'example.com evil' },
    { name: 'a tab', value: 'example.com\t' },
    { name: 'a CR LF', value: 'example.com\r\nX: y' },
    { name: 'percent-encoding', value: 'ex%61mple.com' },
    { name: 'an empty port', value: 'example.com:' },
    { name: 'a non-numeric port', value: 'example.com:http' },
    { name: 'a signed port', value: 'example.com:+80' },
    { name: 'port zero', value: 'example.com:0' },
    { name: 'a port above 65535', value: 'example.com:65536' },
    { name: 'a six-digit port', value: 'example.com:000080' },
    { name: 'two ports', value: 'example.com:80:81' },
    { name: 'an unbracketed IPv6 address', value: '::1' },
    { name: 'an unclosed IPv6 bracket', value: '[::1' },
    { name: 'junk after an IPv6 bracket', value: '[::1]x' },
    { name: 'a non-IPv6 value in brackets', value: '[example.com]' },
    { name: 'an IPv6 zone id', value: '[fe80::1%25eth0]' },
    { name: 'an empty label', value: 'a..example.com' },
    { name: 'a leading dot', value: '.example.com' },
    { name: 'two trailing dots', value: 'example.com..' },
    { name: 'a lone dot', value: '.' },
    { name: 'non-ASCII characters', value: 'bücher.example' },
    { name: 'a label longer than 63 characters', value: `${'a'.repeat(64)}.example` },
  ];
  for (const { name, value } of rejected) {
    test(`a Host header with ${name} is invalid: ${JSON.stringify(value)}`, () => {
      assert.equal(parseHostHeader(value, 80), undefined);
    });
  }
});
