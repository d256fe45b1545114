export { createLogger, type Logger, type LoggerSettings } from './logger.js';
export {
  CORRELATION_ID_HEADER,
  childTrace,
  formatTraceparent,
  newCorrelationId,
  parseTraceparent,
  TRACEPARENT_HEADER,
  type TraceContext,
} from './trace.js';
