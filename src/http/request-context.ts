/**
 * The one typed object a request carries through the gateway: its id, timing and what the
 * pipeline learned about it. Nothing else is attached to `req`.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';

export interface RequestContext {
  readonly requestId: string;
  readonly startedAt: bigint;
  /** Normalised path (no query), for logs; the raw target when it could not be normalised. */
  path: string;
  /** Route name, or '' when none matched. */
  routeName: string;
  /** Why the gateway answered itself, for the log line. */
  outcome: string;
  /** The scheme the client used (the trusted proxy's X-Forwarded-Proto, or the connection's). */
  protocol: 'http' | 'https';
  /** The client's address (X-Forwarded-For's last hop is ours; this is the peer, unwrapped). */
  clientAddress: string;
  /** `scheme://host[:port]` as the client addressed us, for absolute URLs in redirects. */
  externalOrigin: string;
}

// A per-process prefix and a counter: unique, cheap, and it sorts in arrival order.
const REQUEST_ID_PREFIX = randomBytes(4).toString('hex');
let requestCounter = 0;
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request id: the trusted proxy's `X-Request-Id` if it sent a sane one, else a new one. */
export function assignRequestId(req: http.IncomingMessage, fromTrustedProxy: boolean): string {
  const incoming = req.headers['x-request-id'];
  if (fromTrustedProxy && typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming)) return incoming;
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${REQUEST_ID_PREFIX}-${requestCounter.toString(36)}`;
}

const contexts = new WeakMap<http.IncomingMessage, RequestContext>();

export function createRequestContext(req: http.IncomingMessage, requestId: string): RequestContext {
  const context: RequestContext = {
    requestId,
    startedAt: process.hrtime.bigint(),
    path: req.url ?? '',
    routeName: '',
    outcome: '',
    protocol: 'http',
    clientAddress: '',
    externalOrigin: '',
  };
  contexts.set(req, context);
  return context;
}

/** The context of a request already seen by the pipeline (for Express pages). */
export function requestContextOf(req: http.IncomingMessage): RequestContext | undefined {
  return contexts.get(req);
}
