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

/** The process logger and the access logger, writing to one stream. */
export function createLoggers(options: LoggerOptions = {}): { logger: Logger; accessLogger: Logger } {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const destination = options.destination ?? pino.destination({ sync: false });
  return {
    logger: pino({ ...baseOptions(level), redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination),
    accessLogger: pino(baseOptions(level), destination),
  };
}

/** A logger that drops everything, for tests that do not read logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
