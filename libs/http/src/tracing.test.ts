import { activeSpan, activeTraceIds, createLogger, initTracing, type Tracing } from '@hub/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientTraceContext, createHttpServer } from './index.js';

let tracing: Tracing;
beforeAll(() => {
  tracing = initTracing({ serviceName: 'http-tracing-test' });
});
afterAll(() => tracing.shutdown());

const client = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };
const clientTraceparent = `00-${client.traceId}-${client.spanId}-01`;

/** A server answering with its request span's trace id and links (the SDK span keeps them). */
function build(clientTrace?: ClientTraceContext) {
  const app = createHttpServer({
    logger: createLogger({ service: 'http-test', level: 'silent' }),
    ...(clientTrace ? { clientTrace } : {}),
  });
  app.get('/where', async () => {
    const span = activeSpan() as unknown as {
      links: Array<{ context: { traceId: string; spanId: string } }>;
    };
    return {
      trace_id: activeTraceIds()?.trace_id,
      links: span.links.map((l) => `${l.context.traceId}-${l.context.spanId}`),
    };
  });
  return app;
}

describe('a request’s traceparent', () => {
  it('is the parent of an internal service’s span (default): same trace, no traceresponse', async () => {
    const res = await build().inject({
      method: 'GET',
      url: '/where',
      headers: { traceparent: clientTraceparent },
    });
    expect(res.json()).toEqual({ trace_id: client.traceId, links: [] });
    expect(res.headers.traceresponse).toBeUndefined();
  });

  it('is only linked by a public one (the edge): a new trace, named in traceresponse', async () => {
    const res = await build('link').inject({
      method: 'GET',
      url: '/where',
      headers: { traceparent: clientTraceparent },
    });
    const body = res.json();
    expect(body.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(body.trace_id).not.toBe(client.traceId);
    expect(body.links).toEqual([`${client.traceId}-${client.spanId}`]);
    expect(String(res.headers.traceresponse)).toMatch(new RegExp(`^00-${body.trace_id}-[0-9a-f]{16}-01$`));

    const without = await build('link').inject({ method: 'GET', url: '/where' });
    expect(without.json().links).toEqual([]);
    const malformed = await build('link').inject({
      method: 'GET',
      url: '/where',
      headers: { traceparent: 'not-a-traceparent' },
    });
    expect(malformed.json().links).toEqual([]);
  });
});
