import { afterEach, describe, expect, it, vi } from 'vitest';
// The library as services load it: importing it applies the fix (client.ts).
import './index.js';
import { type RequestQueueInternals, requestQueueClass } from './request-queue.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Array<{ destroy(): void }> = [];

function queue(): RequestQueueInternals {
  const RequestQueue = requestQueueClass();
  const q = new RequestQueue({
    instrumentationEmitter: null,
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:9092',
    logger: quiet,
  });
  queues.push(q);
  return q;
}

afterEach(() => {
  for (const q of queues.splice(0)) q.destroy();
});

describe("kafkajs' request queue, as this library runs it", () => {
  it('sets no timer once an idle connection has its answer, so Node prints no TimeoutNegativeWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const q = queue();
      // What kafkajs does after every response (fulfillRequest), with nothing waiting and no throttle.
      q.checkPendingRequests();
      expect(q.throttleCheckTimeoutId).toBeNull();
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('still sends a request that waits behind a broker throttle once the throttle ends', async () => {
    const q = queue();
    let sent = 0;
    q.throttledUntil = Date.now() + 50;
    q.pending.push({ correlationId: 1, expectResponse: true, send: () => sent++ });
    q.checkPendingRequests();
    expect(sent).toBe(0);
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    await vi.waitFor(() => expect(sent).toBe(1), { timeout: 5_000 });
    expect(q.pending).toEqual([]);
  });
});
