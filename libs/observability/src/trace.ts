import { randomBytes, randomUUID } from 'node:crypto';

/** Header names carried on every HTTP request and Kafka message. */
export const CORRELATION_ID_HEADER = 'x-correlation-id';
export const TRACEPARENT_HEADER = 'traceparent';

export function newCorrelationId(): string {
  return randomUUID();
}

export interface TraceContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C traceparent header; returns undefined for anything malformed or all-zero ids. */
export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  if (!value) return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

/**
 * Random bytes as hex, taken from a pool filled 4 KB at a time (issue 22: a `randomBytes(8)` call per
 * message was a measurable part of the gateway's CPU). Each id still gets bytes of its own.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let taken = 0;
function randomHex(bytes: number): string {
  if (taken + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    taken = 0;
  }
  const hex = pool.toString('hex', taken, taken + bytes);
  taken += bytes;
  return hex;
}

/** A child span of `parent` (same trace, new span id), or a new root trace when there is no parent. */
export function childTrace(parent: TraceContext | undefined): TraceContext {
  return {
    traceId: parent?.traceId ?? randomHex(16),
    spanId: randomHex(8),
    sampled: parent?.sampled ?? true,
  };
}
