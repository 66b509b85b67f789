/**
 * The one typed object a request carries through the gateway: its id, timing and what the
 * pipeline learned about it. Nothing else is attached to `req`.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ForwardHandle } from '../proxy/proxy-engine.js';
import type { Question } from './forward-auth-question.js';

export interface RequestContext {
  readonly requestId: string;
  /** performance.now() at arrival (a double: no BigInt allocation per request). */
  readonly startedAt: number;
  /** Normalised path (no query), for logs; the raw target without its query when it could not be normalised. */
  path: string;
  /** Route name, or '' when none matched. */
  routeName: string;
  /** Why the gateway answered itself, for the log line. */
  outcome: string;
  /** The request's method (for a forward-auth question: the original request's). */
  method: string;
  /** Set when a front proxy asks through forward-auth: which endpoint. */
  question?: Question;
  /** The scheme the client used (the trusted proxy's X-Forwarded-Proto, or the connection's). */
  protocol: 'http' | 'https';
  /** The client's address (X-Forwarded-For's last hop is ours; this is the peer, unwrapped). */
  clientAddress: string;
  /** The Host the client asked for (the trusted proxy's X-Forwarded-Host, or Host). */
  hostHeader: string | undefined;
  /** The query string (`?...` or ''), kept apart from `path` so it is never logged. */
  query: string;
  /** `scheme://host[:port]` as the client addressed us, for absolute URLs in redirects. */
  externalOrigin: string;
  /** Set once the request is forwarded. */
  upstream?: ForwardHandle;
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

// On the request under a private symbol rather than in a WeakMap: cheaper for the garbage
// collector, and still invisible to everything else that handles `req`.
const REQUEST_CONTEXT = Symbol('gatehouse.requestContext');
type RequestWithContext = http.IncomingMessage & { [REQUEST_CONTEXT]?: RequestContext };

export function createRequestContext(req: http.IncomingMessage, requestId: string): RequestContext {
  const target = req.url ?? '';
  const queryAt = target.indexOf('?');
  const context: RequestContext = {
    requestId,
    startedAt: performance.now(),
    // The query string can carry tokens: it is never logged, even for a target we refuse.
    path: queryAt === -1 ? target : target.slice(0, queryAt),
    routeName: '',
    outcome: '',
    method: req.method ?? 'GET',
    protocol: 'http',
    clientAddress: '',
    hostHeader: undefined,
    query: '',
    externalOrigin: '',
  };
  (req as RequestWithContext)[REQUEST_CONTEXT] = context;
  return context;
}

/** The context of a request already seen by the pipeline (for Express pages). */
export function requestContextOf(req: http.IncomingMessage): RequestContext | undefined {
  return (req as RequestWithContext)[REQUEST_CONTEXT];
}
