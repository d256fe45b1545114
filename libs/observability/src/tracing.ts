import {
  type Attributes,
  type Context,
  context,
  DiagLogLevel,
  diag,
  isSpanContextValid,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { TRACEPARENT_HEADER } from './trace.js';

export { type Attributes, type Context, type Link, type Span, SpanKind, SpanStatusCode };

export interface TracingSettings {
  serviceName: string;
  /**
   * OTLP/HTTP base URL of a collector (e.g. `http://127.0.0.1:4318`; spans go to `<url>/v1/traces`), or a
   * full URL ending in `/v1/traces`. Absent: spans are still made (they give log lines and Kafka headers
   * their trace ids) but nothing is exported.
   */
  otlpEndpoint?: string;
  /** OpenTelemetry's own problems (an unreachable collector) are logged here at warn. */
  logger?: Logger;
  /** How often batched spans are sent. Default 2 s. */
  exportIntervalMs?: number;
}

export interface Tracing {
  /** Whether spans leave the process (an OTLP endpoint is configured). */
  readonly exporting: boolean;
  /** Exports every ended span that is still buffered. */
  flush(): Promise<void>;
  /** Flushes, stops the exporter and unregisters the global tracer, context manager and propagator. */
  shutdown(): Promise<void>;
}

const TRACER_NAME = 'erp-integration-hub';
const w3c = new W3CTraceContextPropagator();
let active: Tracing | undefined;

/** `<endpoint>/v1/traces`, unless the endpoint already names the traces path. */
export function tracesUrl(endpoint: string): string {
  const trimmed = endpoint.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/traces') ? trimmed : `${trimmed}/v1/traces`;
}

/**
 * Installs OpenTelemetry for this process: an AsyncLocalStorage context manager (so the active span follows
 * async work), the W3C trace-context propagator, and a tracer provider that samples what its parent
 * sampled (everything for new traces). With `otlpEndpoint` the spans are batched to it over OTLP/HTTP
 * (JSON); without one there is no exporter: spans are created and dropped on end. Nothing here reads the
 * environment: each service passes `OTEL_EXPORTER_OTLP_ENDPOINT` from its validated config.
 * Call once per process; `shutdown()` undoes it (so tests may call it again).
 */
export function initTracing(settings: TracingSettings): Tracing {
  if (active) throw new Error('tracing is already initialised in this process');
  if (settings.logger) {
    const log = settings.logger.child({ component: 'opentelemetry' });
    diag.setLogger(
      {
        error: (message, ...args) => log.warn({ args }, message),
        warn: (message, ...args) => log.warn({ args }, message),
        info: () => undefined,
        debug: () => undefined,
        verbose: () => undefined,
      },
      DiagLogLevel.WARN,
    );
  }
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(w3c);
  const exporter = settings.otlpEndpoint
    ? new OTLPTraceExporter({ url: tracesUrl(settings.otlpEndpoint), timeoutMillis: 10_000 })
    : undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.namespace': 'erp-integration-hub',
    }),
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: exporter
      ? [
          new BatchSpanProcessor(exporter, {
            scheduledDelayMillis: settings.exportIntervalMs ?? 2_000,
            maxQueueSize: 8192,
            maxExportBatchSize: 512,
          }),
        ]
      : [],
  });
  trace.setGlobalTracerProvider(provider);
  let stopped: Promise<void> | undefined;
  const handle: Tracing = {
    exporting: exporter !== undefined,
    flush: () => provider.forceFlush(),
    shutdown: () => {
      stopped ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
          diag.disable();
          active = undefined;
        }
      })();
      return stopped;
    },
  };
  active = handle;
  return handle;
}

/** The tracer every library uses; a no-op one until `initTracing` ran. */
/**
 * Whether this process exports spans (`initTracing` with an OTLP endpoint). Hot paths that would make a
 * span per message (batch consumers, producers, database commands) make none when nothing is exported:
 * the messages keep the `traceparent` they arrived with, so a trace still runs from the request to the
 * last message.
 */
export function isExporting(): boolean {
  return active?.exporting ?? false;
}

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

/** The span active in the current async context, if any (and valid). */
export function activeSpan(): Span | undefined {
  const span = trace.getSpan(context.active());
  return span && isSpanContextValid(span.spanContext()) ? span : undefined;
}

/** `trace_id`/`span_id` of the active span, for log lines; undefined outside any span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { trace_id: ctx.traceId, span_id: ctx.spanId } : undefined;
}

/**
 * The context to start a span in when work arrives with a `traceparent` (an HTTP request, a Kafka
 * message): the remote span as parent, or the root context when the header is missing or malformed.
 */
export function contextFromTraceparent(
  traceparent: string | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!traceparent) return base;
  return w3c.extract(base, { [TRACEPARENT_HEADER]: traceparent }, headerGetter);
}

/**
 * A span link to the span a `traceparent` names (none when it is missing or malformed): how the public
 * edge records a client's trace without making it the parent of its own (ADR 0015, decision 17).
 */
export function linksTo(traceparent: string | undefined): Link[] {
  if (!traceparent) return [];
  const remote = trace.getSpanContext(contextFromTraceparent(traceparent));
  return remote && isSpanContextValid(remote)
    ? [{ context: remote, attributes: { 'hub.link': 'client_traceparent' } }]
    : [];
}

/** The W3C `traceparent` of a span (or of the active span), undefined when it has no valid context. */
export function traceparentOf(span: Span | undefined = activeSpan()): string | undefined {
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, headerSetter);
  return carrier[TRACEPARENT_HEADER];
}

/** Runs `fn` with `span` active, so logs, Kafka sends and Mongo commands inside it belong to it. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** A context whose active span is `span` (on top of `base`, the root context by default). */
export function contextWithSpan(span: Span, base: Context = ROOT_CONTEXT): Context {
  return trace.setSpan(base, span);
}

/** Runs `fn` in a given context (e.g. one captured earlier). */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

export function activeContext(): Context {
  return context.active();
}

/** Marks a span failed with the error (status ERROR, an exception event). Does not end it. */
export function failSpan(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
}

const headerGetter = {
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
  get: (carrier: Record<string, string>, key: string) => carrier[key],
};
const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};
