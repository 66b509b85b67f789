/**
 * The gateway's loggers: pino, one JSON object a line. Serializers are small and never
 * include headers, cookies, codes or secrets; `redact` is the backstop should a future
 * change log an object that carries one.
 *
 * The per-request access line is written by access-log.ts onto this logger's stream.
 */
import { pino, type Logger, type DestinationStream, type LoggerOptions as PinoOptions } from 'pino';
import { createBatchedLineWriter } from './batched-line-writer.js';

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

/** The process logger, on stdout unless given a destination. The level comes from `LOG_LEVEL` unless given. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  // stdout in batches: one write call per batch of lines, not one per request.
  const destination = options.destination ?? createBatchedLineWriter(1);
  return pino({ ...baseOptions(level), redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, destination);
}

/** A logger that drops everything, for tests that do not read logs. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
