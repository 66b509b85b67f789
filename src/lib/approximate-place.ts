/**
 * Where a client address roughly is, for the guest's own page: the country, never finer. It
 * helps a guest tell "my laptop at home" from "a session in a country I have never been to".
 * A hint for a person, not a security decision (a VPN moves it anywhere).
 *
 * geoip-country ships its own data (MaxMind GeoLite2, refreshed with each release): no account,
 * no download at start, no address leaves the machine. Its 8 MB of tables are read on the
 * first lookup, so a gateway whose guests never open their page never pays for them.
 */
import { createRequire } from 'node:module';
import net from 'node:net';

export type ApproximatePlace =
  | { readonly kind: 'country'; readonly code: string }
  /** Loopback, private, link-local or unique-local: the gateway's own network. */
  | { readonly kind: 'local' }
  | { readonly kind: 'unknown' };

type Lookup = (address: string) => { readonly country: string } | null;
let lookupCountry: Lookup | undefined;

const LOCAL_RANGES = (() => {
  const list = new net.BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('10.0.0.0', 8, 'ipv4');
  list.addSubnet('172.16.0.0', 12, 'ipv4');
  list.addSubnet('192.168.0.0', 16, 'ipv4');
  list.addSubnet('169.254.0.0', 16, 'ipv4');
  list.addSubnet('100.64.0.0', 10, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addSubnet('fc00::', 7, 'ipv6');
  list.addSubnet('fe80::', 10, 'ipv6');
  return list;
})();

/** The country of `address` (IPv4, IPv6 or IPv4-mapped IPv6), or why there is none. */
export function approximatePlaceOf(address: string): ApproximatePlace {
  const plain = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  const family = net.isIPv4(plain) ? 'ipv4' : net.isIPv6(plain) ? 'ipv6' : undefined;
  if (!family) return { kind: 'unknown' };
  if (LOCAL_RANGES.check(plain, family)) return { kind: 'local' };
  lookupCountry ??= (createRequire(import.meta.url)('geoip-country') as { lookup: Lookup }).lookup;
  const found = lookupCountry(plain);
  return found && /^[A-Z]{2}$/.test(found.country) ? { kind: 'country', code: found.country } : { kind: 'unknown' };
}
