import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Log levels, as used across the services:
 * - fatal: the process is about to exit (boot failure, consume loop died).
 * - error: an operation failed and needs a human (dead letter, 5xx, lost dependency).
 * - warn: something degraded but recovered by itself (retry, reconnect, slow dependency).
 * - info: lifecycle (started, ready, stopping) and one line per request or batch.
 * - debug: per-message detail, off in production.
 */
export interface LoggerSettings {
  service: string;
  level: string;
  /** Extra pino options for tests (e.g. a destination stream). */
  options?: LoggerOptions;
}

export function createLogger(settings: LoggerSettings, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    ...settings.options,
  };
  return destination ? pino(options, destination) : pino(options);
}
