/**
 * X-Forwarded-For/-Proto/-Host. A client's own values are believed only when the peer is a
 * trusted proxy (`trust_proxy`); otherwise they are replaced (upstream-request-headers.ts),
 * because an app that logs or rate-limits by X-Forwarded-For must not be fooled by a client
 * that sends its own.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Cidr } from '../config/values.js';

export interface ProxyTrust {
  /** True when the connection's peer is in trust_proxy. Cached per connection. */
  isTrusted(socket: Socket): boolean;
  /** The same check for an address (Express's `trust proxy` setting uses this). */
  isTrustedAddress(address: string | undefined): boolean;
}

/** Builds the trust check for a list of CIDRs. An empty list trusts nobody. */
export function createProxyTrust(cidrs: readonly Cidr[]): ProxyTrust {
  if (cidrs.length === 0) return { isTrusted: () => false, isTrustedAddress: () => false };
  const list = new BlockList();
  for (const cidr of cidrs) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  const cache = new WeakMap<Socket, boolean>();
  return {
    isTrusted(socket) {
      let trusted = cache.get(socket);
      if (trusted === undefined) {
        trusted = isAddressInList(list, socket.remoteAddress);
        cache.set(socket, trusted);
      }
      return trusted;
    },
    isTrustedAddress: (address) => isAddressInList(list, address),
  };
}

function isAddressInList(list: BlockList, address: string | undefined): boolean {
  if (!address) return false;
  if (address.startsWith('::ffff:') && address.includes('.')) {
    return list.check(address.slice(7), 'ipv4') || list.check(address, 'ipv6');
  }
  return list.check(address, address.includes(':') ? 'ipv6' : 'ipv4');
}

/** IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it is. */
function unwrapMapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The connection's peer address (IPv4-mapped IPv6 unwrapped). */
export function peerAddress(req: IncomingMessage): string {
  return unwrapMapped(req.socket.remoteAddress ?? '');
}

/** One X-Forwarded-For entry as a bare address (`[v6]:port` and `v4:port` forms too), or undefined. */
function forwardedAddress(entry: string): string | undefined {
  let text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) text = bracketed[1]!;
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'));
  return isIP(text) === 0 ? undefined : unwrapMapped(text.toLowerCase());
}

/**
 * The client's address, for limits, logs and the session list alike: the peer's, or — when
 * the peer is a trusted proxy — the nearest address in X-Forwarded-For that is not a trusted
 * proxy itself. Walking from the right: each trusted hop vouches for the entry before it;
 * entries left of the first untrusted one were written by parties nobody vouches for, so a
 * client cannot pick its own address by sending X-Forwarded-For (rate-limit evasion).
 */
export function clientAddressOf(req: IncomingMessage, trust: ProxyTrust, peerTrusted: boolean): string {
  const peer = peerAddress(req);
  const header = peerTrusted ? req.headers['x-forwarded-for'] : undefined;
  if (!header) return peer;
  let nearest = peer;
  const hops = (Array.isArray(header) ? header.join(',') : header).split(',');
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = forwardedAddress(hops[i]!);
    // A trusted proxy wrote something that is no address: keep the last one we could vouch for.
    if (hop === undefined) return nearest;
    if (!trust.isTrustedAddress(hop)) return hop;
    nearest = hop;
  }
  return nearest;
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const first = text.split(',')[0]!.trim();
  return first || undefined;
}

/** The scheme the client used: the trusted proxy's X-Forwarded-Proto, or this connection's. */
export function effectiveProtocol(req: IncomingMessage, trusted: boolean): 'http' | 'https' {
  if (trusted) {
    const proto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase();
    if (proto === 'https' || proto === 'http') return proto;
  }
  return 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
}

/** The Host the client asked for: the trusted proxy's X-Forwarded-Host, or the Host header. */
export function effectiveHost(req: IncomingMessage, trusted: boolean): string | undefined {
  if (trusted) {
    const host = firstValue(req.headers['x-forwarded-host']);
    if (host) return host;
  }
  return req.headers.host;
}
