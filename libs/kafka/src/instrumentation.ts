import {
  activeContext,
  activeSpan,
  CORRELATION_ID_HEADER,
  type Context,
  contextFromTraceparent,
  contextWithSpan,
  failSpan,
  isExporting,
  type Logger,
  type Span,
  SpanKind,
  SpanStatusCode,
  TRACEPARENT_HEADER,
  traceparentOf,
  tracer,
  withContext,
} from '@hub/observability';
import type { Admin, IHeaders } from 'kafkajs';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { OutgoingMessage } from './client.js';
import type { ConsumerSettings, IncomingMessage } from './consumer.js';
import { PermanentError } from './consumer.js';
import { withTimeout } from './timeouts.js';

/**
 * Tracing and metrics of the Kafka clients, kept apart from the consume loop: `ConsumerRunner` only swaps
 * its handler and failure callback for the instrumented ones made here.
 */

/**
 * A PRODUCER span per message, child of the active span (a request, a consumed message) or else of the
 * `traceparent` the message already carries; the message is sent with the span's own `traceparent`, so a
 * consumer's span is the child of this one. Without `initTracing` the spans are no-ops and the headers are
 * left as given.
 */
export async function sendTraced(
  messages: OutgoingMessage[],
  send: (messages: OutgoingMessage[]) => Promise<void>,
): Promise<void> {
  // Nothing exported: no span per message. A message keeps the traceparent it was given, else it gets
  // the active span's (a request's), so the trace still runs through it.
  if (!isExporting()) {
    const current = traceparentOf();
    return send(
      current
        ? messages.map((m) =>
            m.headers?.[TRACEPARENT_HEADER]
              ? m
              : { ...m, headers: { ...m.headers, [TRACEPARENT_HEADER]: current } },
          )
        : messages,
    );
  }
  const active = activeSpan() ? activeContext() : undefined;
  const spans: Span[] = [];
  const traced = messages.map((m) => {
    const parent = active ?? contextFromTraceparent(m.headers?.[TRACEPARENT_HEADER]);
    const span = tracer().startSpan(
      `${m.topic} publish`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.operation.type': 'send',
          'messaging.destination.name': m.topic,
          ...(m.key !== null ? { 'messaging.kafka.message.key': m.key } : {}),
          ...(m.value === null ? { 'messaging.kafka.message.tombstone': true } : {}),
          ...correlation(m.headers),
          ...(messages.length > 1 ? { 'messaging.batch.message_count': messages.length } : {}),
        },
      },
      parent,
    );
    spans.push(span);
    const traceparent = traceparentOf(span);
    return traceparent ? { ...m, headers: { ...m.headers, [TRACEPARENT_HEADER]: traceparent } } : m;
  });
  try {
    await send(traced);
  } catch (err) {
    for (const span of spans) failSpan(span, err);
    throw err;
  } finally {
    for (const span of spans) span.end();
  }
}

/** The message's correlation id as a span attribute: a trace can be searched by it. */
function correlation(headers: Record<string, string> | undefined): { 'hub.correlation_id'?: string } {
  const id = headers?.[CORRELATION_ID_HEADER];
  return id ? { 'hub.correlation_id': id } : {};
}

/**
 * Runs a message's whole consume loop (attempts, retry waits, dead-lettering) in the trace of its
 * `traceparent`, so the loop's own log lines (retries, failures) carry the message's trace id.
 */
export function inMessageTrace<T>(headers: IHeaders | undefined, fn: () => T): T {
  const raw = headers?.[TRACEPARENT_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return fn();
  return withContext(contextFromTraceparent(value.toString()), fn);
}

/** The consumer metrics, registered once per registry (several runners may share one). */
class ConsumerMetrics {
  readonly duration: Histogram<'group' | 'topic'>;
  readonly batchSize: Histogram<'group' | 'topic'>;
  readonly age: Histogram<'group' | 'topic'>;
  readonly retries: Counter<'group' | 'topic'>;
  readonly messages: Counter<'group' | 'topic' | 'outcome'>;
  readonly lag: Gauge<'group' | 'topic' | 'partition'>;
  private readonly lagSources = new Set<() => Promise<void>>();

  private constructor(registry: Registry) {
    const lagSources = this.lagSources;
    this.duration = new Histogram({
      name: 'hub_consumer_handler_duration_seconds',
      help: "Time the handler took per message (one attempt; a batch's time shared among its messages), by consumer group and topic",
      labelNames: ['group', 'topic'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.batchSize = new Histogram({
      name: 'hub_consumer_batch_messages',
      help: 'Messages handled together by a batch consumer, by consumer group and topic',
      labelNames: ['group', 'topic'] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    });
    this.age = new Histogram({
      name: 'hub_consumer_event_age_seconds',
      help: 'Age of a message when its processing finished: now minus the Kafka message timestamp',
      labelNames: ['group', 'topic'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers: [registry],
    });
    this.retries = new Counter({
      name: 'hub_consumer_retries_total',
      help: 'Handler attempts that failed transiently and will be retried',
      labelNames: ['group', 'topic'] as const,
      registers: [registry],
    });
    this.messages = new Counter({
      name: 'hub_consumer_messages_total',
      help: 'Messages finished by a consumer, by outcome (processed, dead_lettered)',
      labelNames: ['group', 'topic', 'outcome'] as const,
      registers: [registry],
    });
    this.lag = new Gauge({
      name: 'hub_consumer_lag',
      help: "Messages not yet committed by the consumer group: log-end offset minus the group's committed offset, per partition (measured at scrape)",
      labelNames: ['group', 'topic', 'partition'] as const,
      registers: [registry],
      async collect() {
        await Promise.all([...lagSources].map((measure) => measure()));
      },
    });
  }

  addLagSource(measure: () => Promise<void>): () => void {
    this.lagSources.add(measure);
    return () => this.lagSources.delete(measure);
  }

  private static readonly byRegistry = new WeakMap<Registry, ConsumerMetrics>();
  static of(registry: Registry): ConsumerMetrics {
    let metrics = ConsumerMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new ConsumerMetrics(registry);
      ConsumerMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }
}

/** A CONSUMER span for one attempt at a message, child of the message's `traceparent`. */
function consumeSpan(
  message: IncomingMessage,
  groupId: string,
  attempt: number,
  parent: Context = contextFromTraceparent(message.headers[TRACEPARENT_HEADER]),
): Span {
  return tracer().startSpan(
    `${message.topic} process`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.topic,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.kafka.offset': Number(message.offset),
        'messaging.consumer.group.name': groupId,
        ...(message.key !== null ? { 'messaging.kafka.message.key': message.key } : {}),
        ...correlation(message.headers),
        'hub.attempt': attempt,
      },
    },
    parent,
  );
}

/** Lag of a group on its topics, as the group's committed offsets trail the partitions' log-end offsets. */
export async function measureLag(
  admin: Admin,
  groupId: string,
  topics: string[],
): Promise<Array<{ topic: string; partition: number; lag: number }>> {
  const [committed, ends] = await Promise.all([
    admin.fetchOffsets({ groupId, topics }),
    Promise.all(topics.map(async (topic) => ({ topic, offsets: await admin.fetchTopicOffsets(topic) }))),
  ]);
  const out: Array<{ topic: string; partition: number; lag: number }> = [];
  for (const { topic, offsets } of ends) {
    const group = committed.find((c) => c.topic === topic);
    for (const p of offsets) {
      const at = group?.partitions.find((c) => c.partition === p.partition)?.offset;
      out.push({ topic, partition: p.partition, lag: partitionLag(p.high, p.low, at) });
    }
  }
  return out;
}

/** Log-end minus committed; with nothing committed yet, everything still in the partition. Never negative. */
export function partitionLag(high: string, low: string, committed: string | undefined): number {
  const end = BigInt(high);
  const from = committed !== undefined && BigInt(committed) >= 0n ? BigInt(committed) : BigInt(low);
  const lag = end - from;
  return lag > 0n ? Number(lag) : 0;
}

export interface ConsumerInstrumentation {
  handler: ConsumerSettings['handler'];
  /** The batch handler with metrics, and — when spans are exported — a CONSUMER span per message. */
  batchHandler?: ConsumerSettings['batchHandler'];
  onPermanentFailure: ConsumerSettings['onPermanentFailure'];
  /** Starts reporting lag on scrape (needs an admin client); returns the function that stops it. */
  reportLag(admin: () => Promise<Admin>): () => Promise<void>;
}

/**
 * Wraps a consumer's callbacks: a CONSUMER span per handler attempt (parent: the message's `traceparent`;
 * topic, partition, offset, group and attempt as attributes; ERROR status when the attempt failed), the
 * dead-letter callback run inside the failed attempt's span, and — with a registry — handler duration,
 * message age, retries, outcomes and lag.
 */
export function instrumentConsumer(settings: ConsumerSettings, logger: Logger): ConsumerInstrumentation {
  const { groupId, handler, onPermanentFailure } = settings;
  const metrics = settings.metrics ? ConsumerMetrics.of(settings.metrics) : undefined;
  const maxTransient = settings.maxTransientAttempts ?? 10;
  /** The context of each message's latest failed attempt, so its dead letter joins that span. */
  const lastAttempt = new WeakMap<IncomingMessage, Context>();
  let stopLag: (() => Promise<void>) | undefined;
  const finished = (message: IncomingMessage, outcome: 'processed' | 'dead_lettered') => {
    if (!metrics) return;
    const labels = { group: groupId, topic: message.topic };
    metrics.messages.inc({ ...labels, outcome });
    const produced = Number(message.timestamp);
    if (Number.isFinite(produced) && produced > 0) {
      metrics.age.observe(labels, Math.max(0, Date.now() - produced) / 1000);
    }
  };

  /**
   * `finished(m, 'processed')` for the first `count` messages of a batch (one partition, one topic), with
   * the labels looked up once per batch rather than per message (issue 22).
   */
  const finishedBatch = (messages: IncomingMessage[], count: number) => {
    if (!metrics || count <= 0) return;
    const labels = { group: groupId, topic: messages[0]!.topic };
    metrics.messages.inc({ ...labels, outcome: 'processed' }, count);
    const age = metrics.age.labels(labels);
    const now = Date.now();
    for (let i = 0; i < count && i < messages.length; i++) {
      const produced = Number(messages[i]!.timestamp);
      if (Number.isFinite(produced) && produced > 0) age.observe(Math.max(0, now - produced) / 1000);
    }
  };

  const batchHandler = settings.batchHandler;
  return {
    batchHandler:
      batchHandler &&
      (async (messages, context) => {
        // Only when exported: a span per message, whose traceparent the message's outputs then carry.
        const spans = isExporting() ? messages.map((m) => consumeSpan(m, groupId, 1)) : [];
        spans.forEach((span, i) => {
          const traceparent = traceparentOf(span);
          if (traceparent)
            messages[i]!.headers = { ...messages[i]!.headers, [TRACEPARENT_HEADER]: traceparent };
          span.setAttribute('messaging.batch.message_count', messages.length);
        });
        const started = performance.now();
        try {
          const taken = await batchHandler(messages, context);
          for (const span of spans) span.setStatus({ code: SpanStatusCode.OK });
          const count =
            typeof taken === 'number' ? taken : typeof taken === 'object' ? taken.taken : messages.length;
          finishedBatch(messages, count);
          return taken;
        } catch (err) {
          for (const span of spans) {
            failSpan(span, err);
            span.setAttribute('hub.retry', true);
          }
          throw err;
        } finally {
          if (metrics && messages.length > 0) {
            // Per message: the batch's time shared among its messages; the batch sizes on their own.
            const labels = { group: groupId, topic: messages[0]!.topic };
            const each = (performance.now() - started) / 1000 / messages.length;
            const duration = metrics.duration.labels(labels);
            for (let i = 0; i < messages.length; i++) duration.observe(each);
            metrics.batchSize.observe(labels, messages.length);
          }
          for (const span of spans) span.end();
        }
      }),
    handler: async (message, attempt) => {
      const parent = contextFromTraceparent(message.headers[TRACEPARENT_HEADER]);
      const span = consumeSpan(message, groupId, attempt, parent);
      const ctx = contextWithSpan(span, parent);
      const started = performance.now();
      try {
        await withContext(ctx, () => handler(message, attempt));
        span.setStatus({ code: SpanStatusCode.OK });
        finished(message, 'processed');
      } catch (err) {
        failSpan(span, err);
        const permanent = err instanceof PermanentError || attempt >= maxTransient;
        if (err instanceof PermanentError) span.setAttribute('hub.error.code', err.code);
        span.setAttribute('hub.retry', !permanent);
        if (!permanent) metrics?.retries.inc({ group: groupId, topic: message.topic });
        lastAttempt.set(message, ctx);
        throw err;
      } finally {
        metrics?.duration.observe(
          { group: groupId, topic: message.topic },
          (performance.now() - started) / 1000,
        );
        span.end();
      }
    },
    onPermanentFailure: async (message, error, attempts, form) => {
      const ctx = lastAttempt.get(message);
      const record = () => onPermanentFailure(message, error, attempts, form);
      await (ctx ? withContext(ctx, record) : record());
      lastAttempt.delete(message);
      finished(message, 'dead_lettered');
    },
    reportLag(admin) {
      if (!metrics) return async () => undefined;
      void stopLag?.().catch(() => undefined); // started again: one measurement per runner
      let client: Promise<Admin> | undefined;
      const measure = async () => {
        try {
          client ??= admin();
          const lags = await withTimeout(measureLag(await client, groupId, settings.topics), 5_000);
          for (const { topic, partition, lag } of lags) {
            metrics.lag.set({ group: groupId, topic, partition: String(partition) }, lag);
          }
        } catch (err) {
          const stale = client;
          client = undefined;
          stale?.then((a) => a.disconnect()).catch(() => undefined);
          logger.warn({ err, groupId }, 'could not measure consumer lag; the last values stay');
        }
      };
      const remove = metrics.addLagSource(measure);
      stopLag = async () => {
        remove();
        const open = client;
        client = undefined;
        if (open) await (await open.catch(() => undefined))?.disconnect().catch(() => undefined);
      };
      return stopLag;
    },
  };
}
