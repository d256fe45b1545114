import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import {
  activeTraceIds,
  contextFromTraceparent,
  initTracing,
  type Tracing,
  traceparentOf,
  tracer,
  tracesUrl,
  withContext,
  withSpan,
} from './tracing.js';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, logger: createLogger({ service: 'test', level: 'info' }, stream) };
}

describe('tracesUrl', () => {
  it('appends the OTLP traces path to a collector base URL, once', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/v1/traces')).toBe('http://collector:4318/v1/traces');
  });
});

describe('tracing without an exporter', () => {
  let tracing: Tracing | undefined;
  afterEach(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });

  it('before initTracing: no ids on log lines, spans are no-ops that keep a remote parent', () => {
    const { lines, logger } = capture();
    const span = tracer().startSpan('x', {}, contextFromTraceparent(PARENT));
    withSpan(span, () => logger.info('inside'));
    expect(lines[0]?.trace_id).toBeUndefined();
    expect(traceparentOf(span)).toBe(PARENT); // a no-op span carries its parent's context on
  });

  it('continues a traceparent: same trace, new span, and log lines inside carry both ids', () => {
    tracing = initTracing({ serviceName: 'test' });
    expect(tracing.exporting).toBe(false);
    const { lines, logger } = capture();
    const span = tracer().startSpan('child', {}, contextFromTraceparent(PARENT));
    const header = traceparentOf(span)!;
    expect(header).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(header).not.toBe(PARENT);
    withSpan(span, () => {
      logger.info('inside');
      logger.child({ component: 'x' }).warn('inside a child logger');
    });
    logger.info('outside');
    span.end();
    const spanId = header.split('-')[2];
    expect(lines.map((l) => [l.msg, l.trace_id, l.span_id])).toEqual([
      ['inside', '4bf92f3577b34da6a3ce929d0e0e4736', spanId],
      ['inside a child logger', '4bf92f3577b34da6a3ce929d0e0e4736', spanId],
      ['outside', undefined, undefined],
    ]);
  });

  it('follows async work and ignores malformed parents', async () => {
    tracing = initTracing({ serviceName: 'test' });
    const span = tracer().startSpan('root', {}, contextFromTraceparent('garbage'));
    const ids = await withSpan(span, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return activeTraceIds();
    });
    expect(ids?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(ids?.trace_id).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(withContext(contextFromTraceparent(undefined), () => activeTraceIds())).toBeUndefined();
  });

  it('refuses a second initialisation until shut down', async () => {
    tracing = initTracing({ serviceName: 'test' });
    expect(() => initTracing({ serviceName: 'again' })).toThrow(/already initialised/);
    await tracing.shutdown();
    tracing = initTracing({ serviceName: 'again' });
  });
});
