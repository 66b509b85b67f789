/**
 * The gateway's logger: pino, one JSON object a line. Serializers are small and never
 * include headers, cookies, codes or secrets; `redact` is the backstop should a future
 * change log an object that carries one.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

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

/** Creates the process logger. The level comes from `LOG_LEVEL` unless given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      base: { service: 'gatehouse' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** A logger that drops everything, for tests that do not read logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
