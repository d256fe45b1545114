import { type Logger, type LoggerOptions, pino } from 'pino';
import { serializeError } from './redact.js';
import { activeTraceIds } from './tracing.js';

export type { Logger } from 'pino';

/**
 * Log levels, as used across the services:
 * - fatal: the process is about to exit (boot failure, consume loop died).
 * - error: an operation failed and needs a human (dead letter, 5xx, lost dependency).
 * - warn: something degraded but recovered by itself (retry, reconnect, slow dependency).
 * - info: lifecycle (started, ready, stopping) and one line per request/message.
 * - debug: per-message detail, off in production.
 */
export interface LoggerSettings {
  service: string;
  level: string;
  /** Extra pino options for tests (e.g. a destination stream). */
  options?: LoggerOptions;
}

/**
 * A pino logger with the project's conventions. Every line written inside a span (an HTTP request, a
 * consumed message, see `initTracing`) carries that span's `trace_id` and `span_id`.
 *
 * Lines go to standard output as they are logged (synchronous writes), not through pino's default
 * asynchronous buffer: that buffer is flushed at exit in a loop that retries a failed write for ever, so
 * a service whose output pipe had gone away (EPIPE) never exited after SIGTERM. Written at once, a line
 * that cannot be written is dropped (pino's EPIPE handling) and nothing is left to flush at exit.
 *
 * An `err` field is serialised by `serializeError`: its message and stack without the values they quote
 * (unique ids, emails, payload values), so no line carries an organisation's data.
 */
export function createLogger(settings: LoggerSettings, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    // Errors are logged without the values their messages quote (issue 19): see redact.ts.
    serializers: { err: serializeError },
    // A fresh object every time: pino merges the line's fields *into* what the mixin returns, so a
    // shared constant would collect every earlier line's fields and print them on later lines.
    mixin: () => activeTraceIds() ?? {},
    ...settings.options,
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true }));
}
