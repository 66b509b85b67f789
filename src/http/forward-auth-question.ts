/**
 * Forward-auth (SPEC section 6): a front proxy asks whether a request may pass. This module
 * reads which request it asks about, in the dialect of each endpoint, and nothing else:
 *
 *   /.gatehouse/auth/request   nginx auth_request: `X-Original-URL` (absolute URL) and
 *                              `X-Original-Method`
 *   /.gatehouse/auth/forward   Traefik ForwardAuth, Caddy forward_auth: `X-Forwarded-Proto`,
 *                              `-Host`, `-Uri` and `-Method`
 *   /.gatehouse/auth/ext/<p>   Envoy ext_authz (HTTP), Gateway API ExternalAuth: the request
 *                              itself, its path behind the prefix, its Host and method the
 *                              original ones, `X-Forwarded-Proto` for the scheme
 *
 * Each endpoint reads its own headers only: a client's `X-Original-URL` that Caddy passes on
 * is never read on `/auth/forward`, a client's `X-Forwarded-Uri` that nginx passes on never
 * on `/auth/request`. The front proxy sets the headers its endpoint reads, replacing the
 * client's; one that arrives twice is refused (a proxy that appends instead of replacing).
 * The admission (admission.ts) then decides about the original request exactly as it
 * decides about a proxied one, and only for peers in `trust_proxy`.
 */
import type http from 'node:http';
import { hasRepeatedHostHeader, singleHeaderValue, REPEATED } from './repeated-headers.js';

export type Question = 'request' | 'forward' | 'ext';

/** Every forward-auth endpoint is below this prefix. */
export const FORWARD_AUTH_PREFIX = '/.gatehouse/auth/';
const REQUEST_PATH = '/.gatehouse/auth/request';
const FORWARD_PATH = '/.gatehouse/auth/forward';
const EXT_PREFIX = '/.gatehouse/auth/ext';

/** The request being decided: the one on the wire, or the one a front proxy asks about. */
export interface RequestUnderDecision {
  /** Origin-form target (`/path?query`), not yet normalised. */
  readonly target: string;
  readonly method: string;
  readonly protocol: 'http' | 'https';
  readonly hostHeader: string | undefined;
  /** The Host was given more than once (answered 400). */
  readonly hostRepeated: boolean;
  /** A WebSocket handshake (Origin and `websockets` are checked). */
  readonly webSocket: boolean;
}

export type OriginalRequest = { readonly ok: true; readonly original: RequestUnderDecision } | { readonly ok: false; readonly reason: string };

/** The endpoint a raw request-target names, or undefined when it is no forward-auth endpoint. */
export function questionOf(url: string): Question | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (path === REQUEST_PATH) return 'request';
  if (path === FORWARD_PATH) return 'forward';
  if (path === EXT_PREFIX || path.startsWith(`${EXT_PREFIX}/`)) return 'ext';
  return undefined;
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const ABSOLUTE_URL = /^(https?):\/\/([^/?#]*)([^#]*)$/i;

function bad(reason: string): OriginalRequest {
  return { ok: false, reason };
}

function protocolOf(value: string | undefined): 'http' | 'https' | undefined {
  const lower = value?.trim().toLowerCase();
  return lower === 'http' || lower === 'https' ? lower : undefined;
}

/**
 * A browser's WebSocket handshake. nginx drops `Upgrade` from the subrequest (hop-by-hop) but
 * passes `Sec-WebSocket-Key`, which only a handshake carries.
 */
function isWebSocketHandshake(req: http.IncomingMessage): boolean {
  return req.headers['sec-websocket-key'] !== undefined || /\bwebsocket\b/i.test(req.headers.upgrade ?? '');
}

/** Reads the original request of a question from a trusted proxy. */
export function readOriginalRequest(req: http.IncomingMessage, question: Question): OriginalRequest {
  switch (question) {
    case 'request':
      return readNginxQuestion(req);
    case 'forward':
      return readForwardedQuestion(req);
    case 'ext':
      return readEnvoyQuestion(req);
  }
}

function readNginxQuestion(req: http.IncomingMessage): OriginalRequest {
  const url = singleHeaderValue(req, 'x-original-url');
  if (url === REPEATED) return bad('X-Original-URL given more than once');
  if (url === undefined) return bad('no X-Original-URL (set it to $scheme://$http_host$request_uri)');
  const parts = ABSOLUTE_URL.exec(url.trim());
  if (!parts) return bad('X-Original-URL is not an absolute http(s) URL');
  const method = singleHeaderValue(req, 'x-original-method');
  if (method === REPEATED || (method !== undefined && !METHOD.test(method))) return bad('bad X-Original-Method');
  const rest = parts[3]!;
  return {
    ok: true,
    original: {
      target: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest,
      method: method ?? 'GET',
      protocol: parts[1]!.toLowerCase() as 'http' | 'https',
      hostHeader: parts[2] || undefined,
      hostRepeated: false,
      webSocket: isWebSocketHandshake(req),
    },
  };
}

function readForwardedQuestion(req: http.IncomingMessage): OriginalRequest {
  const proto = singleHeaderValue(req, 'x-forwarded-proto');
  const host = singleHeaderValue(req, 'x-forwarded-host');
  const uri = singleHeaderValue(req, 'x-forwarded-uri');
  const method = singleHeaderValue(req, 'x-forwarded-method');
  if (proto === REPEATED || host === REPEATED || uri === REPEATED || method === REPEATED) return bad('an X-Forwarded- header given more than once');
  const protocol = protocolOf(proto);
  if (!protocol) return bad('X-Forwarded-Proto is not http or https');
  if (host === undefined) return bad('no X-Forwarded-Host');
  if (uri === undefined) return bad('no X-Forwarded-Uri');
  if (method !== undefined && !METHOD.test(method)) return bad('bad X-Forwarded-Method');
  return { ok: true, original: { target: uri, method: method ?? 'GET', protocol, hostHeader: host, hostRepeated: false, webSocket: isWebSocketHandshake(req) } };
}

function readEnvoyQuestion(req: http.IncomingMessage): OriginalRequest {
  const proto = singleHeaderValue(req, 'x-forwarded-proto');
  if (proto === REPEATED) return bad('X-Forwarded-Proto given more than once');
  const protocol = proto === undefined ? 'http' : protocolOf(proto);
  if (!protocol) return bad('X-Forwarded-Proto is not http or https');
  const rest = (req.url ?? '').slice(EXT_PREFIX.length);
  return {
    ok: true,
    original: {
      target: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest,
      method: req.method ?? 'GET',
      protocol,
      hostHeader: req.headers.host,
      hostRepeated: hasRepeatedHostHeader(req),
      webSocket: isWebSocketHandshake(req),
    },
  };
}
