import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { createHttpServer } from '@hub/http';
import { ConsumerRunner, type IncomingMessage, KafkaClient, PermanentError } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger, initTracing } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** One exported span, flattened from OTLP/JSON. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  status: number;
  attributes: Record<string, unknown>;
}
// OTLP's enums: SpanKind SERVER=2, CLIENT=3, PRODUCER=4, CONSUMER=5; status OK=1, ERROR=2.
const KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;
const STATUS = { ok: 1, error: 2 } as const;

type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
};
const plain = (v: AnyValue) =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.boolValue ??
  v.doubleValue;
const attrs = (list: Array<{ key: string; value: AnyValue }> = []) =>
  Object.fromEntries(list.map((a) => [a.key, plain(a.value)]));

/** A minimal OTLP/HTTP collector: keeps every span POSTed to /v1/traces. */
async function startReceiver(): Promise<{
  url: string;
  spans: ExportedSpan[];
  requests: number;
  close(): Promise<void>;
}> {
  const state = { spans: [] as ExportedSpan[], requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests++;
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const doc = JSON.parse(body.toString('utf8'));
      for (const rs of doc.resourceSpans ?? []) {
        const service = String(attrs(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            state.spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              status: s.status?.code ?? 0,
              attributes: attrs(s.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    spans: state.spans,
    get requests() {
      return state.requests;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Log lines written by the code under test, parsed. */
function logSink() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ service: 'tracing-test', level: 'info' }, stream) };
}

const stack = resolveStack();

/**
 * The path every event takes, in-process on the real Kafka: an HTTP request produces a message, a consumer
 * group handles it (writing to Mongo). Returns what the consumer saw.
 */
async function runPipeline(logger: ReturnType<typeof createLogger>, traceparent: string) {
  const topic = uniqueName('trace');
  const client = new KafkaClient({ clientId: 'tracing-test', brokers: stack.kafkaBrokers, logger });
  await client.ensureTopics([{ topic, partitions: 1 }]);
  const producer = await client.producer();
  const mongo = await MongoStore.connect({
    url: stack.mongoUrl,
    database: uniqueName('trace_db').replace('-', '_'),
    logger,
    appName: 'tracing-test',
  });
  const received: IncomingMessage[] = [];
  const attempts = new Map<string, number>();
  const consumer = new ConsumerRunner(client, {
    groupId: uniqueName('trace-group'),
    topics: [topic],
    logger,
    retry: { initialMs: 10, maxMs: 50 },
    handler: async (message) => {
      const key = message.key ?? '';
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (key === 'flaky' && attempt === 1) throw new Error('first attempt fails');
      if (key === 'bad') throw new PermanentError('BAD_MESSAGE', 'validation', 'never works');
      await mongo.collection('seen').insertOne({ key, offset: message.offset });
      logger.info({ key }, 'handled in the consumer');
      received.push(message);
    },
    onPermanentFailure: async (message) => {
      logger.error({ key: message.key }, 'dead-lettered');
      received.push(message);
    },
    onFatal: (err) => {
      throw err;
    },
  });
  await consumer.start();

  const app = createHttpServer({ logger });
  app.post('/send/:key', async (request) => {
    const { key } = request.params as { key: string };
    request.log.info('sending from the handler');
    await producer.send([{ topic, key, value: { key }, headers: { 'x-correlation-id': 'corr-1' } }]);
    return { ok: true };
  });
  try {
    for (const key of ['good', 'flaky', 'bad']) {
      const res = await app.inject({
        method: 'POST',
        url: `/send/${key}`,
        headers: { traceparent, 'content-type': 'application/json' },
        payload: { any: 'body' },
      });
      expect(res.statusCode).toBe(200);
    }
    await eventually(
      async () => (received.length === 3 ? true : undefined),
      30_000,
      'three messages handled',
    );
  } finally {
    await consumer.stop();
    await producer.close();
    await app.close();
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
    const admin = await client.admin();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
  return { topic, received };
}

describe('OpenTelemetry tracing through HTTP, Kafka and Mongo', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('exports one trace: request span -> produce span -> consume span -> mongo span, ids on every log line', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const { lines, logger } = logSink();
    const tracing = initTracing({ serviceName: 'tracing-test', otlpEndpoint: receiver.url, logger });
    expect(tracing.exporting).toBe(true);
    let topic: string;
    let received: IncomingMessage[];
    try {
      ({ topic, received } = await runPipeline(logger, `00-${traceId}-${callerSpan}-01`));
    } finally {
      await tracing.shutdown(); // flushes
    }
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const http = spans.filter((s) => s.kind === KIND.server);
    const produced = spans.filter((s) => s.kind === KIND.producer && s.name === `${topic} publish`);
    const consumed = spans.filter((s) => s.kind === KIND.consumer && s.name === `${topic} process`);
    expect(http).toHaveLength(3);
    expect(produced).toHaveLength(3);
    // good: 1 attempt; flaky: 2; bad: 1 (dead-lettered)
    expect(consumed).toHaveLength(4);

    for (const request of http) {
      expect(request.service).toBe('tracing-test');
      expect(request.parentSpanId).toBe(callerSpan); // continues the caller's traceparent
      expect(request.name).toBe('POST /send/:key');
      expect(request.attributes['http.route']).toBe('/send/:key');
      expect(request.attributes['http.response.status_code']).toBe(200);
    }
    // Each produce span is a child of its request span, and the message carries the produce span's context.
    for (const p of produced) {
      expect(http.map((h) => h.spanId)).toContain(p.parentSpanId);
      expect(p.attributes['messaging.destination.name']).toBe(topic);
      expect(p.attributes['hub.correlation_id']).toBe('corr-1'); // findable by correlation id
    }
    for (const message of received) {
      const header = message.headers.traceparent!;
      const [, tid, sid] = header.split('-');
      expect(tid).toBe(traceId);
      expect(produced.map((p) => p.spanId)).toContain(sid);
      expect(message.headers['x-correlation-id']).toBe('corr-1'); // untouched
    }
    // Each consume span's parent is the produce span of its message.
    const producerOf = (key: string) =>
      produced.find((p) => p.attributes['messaging.kafka.message.key'] === key)!.spanId;
    const consumeOf = (key: string) =>
      consumed.filter((c) => c.attributes['messaging.kafka.message.key'] === key);
    for (const key of ['good', 'flaky', 'bad']) {
      for (const c of consumeOf(key)) {
        expect(c.parentSpanId).toBe(producerOf(key));
        expect(c.attributes['messaging.destination.name']).toBe(topic);
        expect(c.attributes['messaging.destination.partition.id']).toBe('0');
        expect(typeof c.attributes['messaging.kafka.offset']).toBe('number');
        expect(c.attributes['hub.correlation_id']).toBe('corr-1');
      }
    }
    expect(consumeOf('good').map((c) => [c.attributes['hub.attempt'], c.status])).toEqual([[1, STATUS.ok]]);
    expect(
      consumeOf('flaky')
        .map((c) => [c.attributes['hub.attempt'], c.status, c.attributes['hub.retry']])
        .sort(),
    ).toEqual([
      [1, STATUS.error, true],
      [2, STATUS.ok, undefined],
    ]);
    expect(consumeOf('bad').map((c) => [c.status, c.attributes['hub.error.code']])).toEqual([
      [STATUS.error, 'BAD_MESSAGE'],
    ]);

    // Database work of a handler is a child of its consume span.
    const inserts = spans.filter((s) => s.kind === KIND.client && s.name === 'insert seen');
    expect(inserts).toHaveLength(2);
    const successful = [...consumeOf('good'), ...consumeOf('flaky')].filter((c) => c.status === STATUS.ok);
    expect(inserts.map((i) => i.parentSpanId).sort()).toEqual(successful.map((c) => c.spanId).sort());
    expect(inserts[0]!.attributes['db.system.name']).toBe('mongodb');

    // Log lines: the handler's and the consumer's carry the ids of the span they ran in.
    const handlerLogs = lines.filter((l) => l.msg === 'sending from the handler');
    expect(handlerLogs).toHaveLength(3);
    for (const l of handlerLogs) {
      expect(l.trace_id).toBe(traceId);
      expect(http.map((h) => h.spanId)).toContain(l.span_id);
    }
    const requestLogs = lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed');
    expect(requestLogs).toHaveLength(6);
    for (const l of requestLogs) expect(l.trace_id).toBe(traceId);
    const consumerLogs = lines.filter(
      (l) => l.msg === 'handled in the consumer' || l.msg === 'dead-lettered',
    );
    expect(consumerLogs).toHaveLength(3);
    for (const l of consumerLogs) {
      expect(l.trace_id).toBe(traceId);
      expect(consumed.map((c) => c.spanId)).toContain(l.span_id);
    }
    // The consume loop's own lines (between attempts) are in the message's trace too.
    const retryLog = lines.find((l) => l.msg === 'transient failure; retrying');
    expect(retryLog?.trace_id).toBe(traceId);
    expect(retryLog?.span_id).toBe(producerOf('flaky'));
  });

  it('exports nothing without an endpoint, while headers and logs still carry the trace', async () => {
    const before = receiver.requests;
    const { lines, logger } = logSink();
    // Only the configuration decides: an OTEL_* variable in the environment is not read behind its back.
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    const tracing = initTracing({ serviceName: 'tracing-test', logger });
    const traceId = randomBytes(16).toString('hex');
    try {
      expect(tracing.exporting).toBe(false);
      const { received } = await runPipeline(logger, `00-${traceId}-${randomBytes(8).toString('hex')}-01`);
      for (const m of received) expect(m.headers.traceparent?.split('-')[1]).toBe(traceId);
    } finally {
      await tracing.shutdown();
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.requests).toBe(before);
    expect(lines.filter((l) => l.msg === 'handled in the consumer').map((l) => l.trace_id)).toEqual([
      traceId,
      traceId,
    ]);
  });
});
