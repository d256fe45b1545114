export { createLogger, type Logger, type LoggerSettings } from './logger.js';
export { redactValues, serializeError } from './redact.js';
export {
  CORRELATION_ID_HEADER,
  childTrace,
  formatTraceparent,
  newCorrelationId,
  parseTraceparent,
  TRACEPARENT_HEADER,
  type TraceContext,
} from './trace.js';
export {
  type Attributes,
  activeContext,
  activeSpan,
  activeTraceIds,
  type Context,
  contextFromTraceparent,
  contextWithSpan,
  failSpan,
  initTracing,
  isExporting,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracing,
  type TracingSettings,
  traceparentOf,
  tracer,
  tracesUrl,
  withContext,
  withSpan,
} from './tracing.js';
