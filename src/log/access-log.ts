/**
 * The one `request` line per request, in the same shape as every other pino line
 * (`{"level":"info","time":…,"service":"gatehouse","pid":…,"event":"request",…}`) and on
 * the same stream, but built by hand: it is written for every request, its fields are a
 * fixed set of scalars, and pino's generic serialisation cost more CPU than the rest of the
 * gateway's own request handling (docs/performance.md). It never carries headers, cookies
 * or the query string.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export interface AccessEntry {
  readonly requestId: string;
  readonly method: string | undefined;
  /** The Host header as received (may be absent or malformed on a 400). */
  readonly host: string | undefined;
  /** The normalised path, without the query string. */
  readonly path: string;
  /** '' when no route matched. */
  readonly route: string;
  /** Set for a forward-auth question: the endpoint asked (`request`, `forward`, `ext`); host and path are the original request's. */
  readonly question?: string;
  readonly status: number;
  readonly durationMs: number;
  /** Why the gateway answered itself ('' when the upstream answered). */
  readonly outcome: string;
  /** The client went away before the response was complete. */
  readonly aborted: boolean;
}

export interface AccessLog {
  write(entry: AccessEntry): void;
}

/**
 * A JSON string literal. Plain printable ASCII (nearly every method, host and path) is
 * quoted as is; anything else goes through JSON.stringify, so a hostile Host header or path
 * can neither break the line nor forge fields.
 */
export function jsonString(value: string): string {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return JSON.stringify(value);
  }
  return `"${value}"`;
}

const DISABLED: AccessLog = { write() {} };

/** An access log on `logger`'s stream, with its base fields (service, pid); silent below level info. */
export function createAccessLog(logger: Logger): AccessLog {
  if (!logger.isLevelEnabled('info')) return DISABLED;
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;
  const baseFields = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  return {
    write(entry) {
      let line = `{"level":"info","time":${Date.now()}${baseFields},"event":"request","req_id":${jsonString(entry.requestId)}`;
      if (entry.method !== undefined) line += `,"method":${jsonString(entry.method)}`;
      if (entry.host !== undefined) line += `,"host":${jsonString(entry.host)}`;
      line += `,"path":${jsonString(entry.path)}`;
      if (entry.route) line += `,"route":${jsonString(entry.route)}`;
      if (entry.question !== undefined) line += `,"forward_auth":${jsonString(entry.question)}`;
      line += `,"status":${entry.status},"duration_ms":${Math.round(entry.durationMs * 100) / 100}`;
      if (entry.outcome) line += `,"outcome":${jsonString(entry.outcome)}`;
      if (entry.aborted) line += ',"aborted":true';
      stream.write(`${line}}\n`);
    },
  };
}
