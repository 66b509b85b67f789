/**
 * The gateway's loggers: pino, one JSON object a line. Serializers are small and never
 * include headers, cookies, codes or secrets; `redact` is the backstop should a future
 * change log an object that carries one.
 *
 * The per-request access line goes through a second logger on the same stream without the
 * redact backstop: its fields are a fixed set of scalars built in one place
 * (handle-request.ts), and wildcard redaction would otherwise cost more CPU per request than
 * the rest of the gateway's own request handling.
 */
import { pino, type Logger, type DestinationStream, type LoggerOptions as PinoOptions } from 'pino';

export type { Logger };

const REDACTED_PATHS = [
  'headers',
  'req.headers',
  'res.headers',
  '*.cookie',
  '*.authorization',
  '*.secret',
  '*.token',
  '*.password',
  '*.pass',
  '*.code',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

function baseOptions(level: string): PinoOptions {
  return {
    level,
    base: { service: 'gatehouse', pid: process.pid },
    formatters: { level: (label) => ({ level: label }) },
  };
}

/** The process logger. The level comes from `LOG_LEVEL` unless given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return createLoggers(options).logger;
}

// Lines are written in batches of up to this many bytes (one write call instead of one per
// request), and at least every LOG_FLUSH_INTERVAL_MS, so a quiet gateway's lines still show.
const LOG_BUFFER_BYTES = 4096;
const LOG_FLUSH_INTERVAL_MS = 250;

/** The process logger and the access logger, writing to one stream. */
export function createLoggers(options: LoggerOptions = {}): { logger: Logger; accessLogger: Logger } {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  let destination = options.destination;
  if (!destination) {
    const stdout = pino.destination({ sync: false, minLength: LOG_BUFFER_BYTES });
    setInterval(() => stdout.flush(), LOG_FLUSH_INTERVAL_MS).unref();
    // Nothing buffered is lost on a normal exit.
    process.on('exit', () => stdout.flushSync());
    destination = stdout;
  }
  return {
    logger: pino({ ...baseOptions(level), redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination),
    accessLogger: pino(baseOptions(level), destination),
  };
}

/** A logger that drops everything, for tests that do not read logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
