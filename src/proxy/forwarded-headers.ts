/**
 * X-Forwarded-For/-Proto/-Host. A client's own values are believed only when the peer is a
 * trusted proxy (`trust_proxy`); otherwise they are replaced (upstream-request-headers.ts),
 * because an app that logs or rate-limits by X-Forwarded-For must not be fooled by a client
 * that sends its own.
 */
import { BlockList } from 'node:net';
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

/** The client's address as the gateway reports it (IPv4-mapped IPv6 unwrapped). */
export function peerAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
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
