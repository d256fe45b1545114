import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTracing, tracer, withSpan } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import type { OutgoingMessage } from './client.js';
import { BrokerUnavailableError, isBrokerUnavailable } from './consumer.js';
import { partitionLag, sendTraced } from './instrumentation.js';

const GIVEN = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

async function sent(messages: OutgoingMessage[]): Promise<OutgoingMessage[]> {
  let out: OutgoingMessage[] = [];
  await sendTraced(messages, async (m) => {
    out = m;
  });
  return out;
}

describe('partitionLag', () => {
  it('is the log-end offset minus the committed offset, or everything retained when nothing is committed', () => {
    expect(partitionLag('10', '0', '7')).toBe(3);
    expect(partitionLag('10', '0', '10')).toBe(0);
    expect(partitionLag('10', '4', '-1')).toBe(6);
    expect(partitionLag('10', '4', undefined)).toBe(6);
    expect(partitionLag('0', '0', '-1')).toBe(0);
    expect(partitionLag('5', '0', '9')).toBe(0); // never negative
  });
});

describe('sendTraced', () => {
  it('without tracing, leaves the headers as given', async () => {
    const [m] = await sent([{ topic: 't', key: 'k', value: 1, headers: { traceparent: GIVEN, a: 'b' } }]);
    expect(m?.headers).toEqual({ traceparent: GIVEN, a: 'b' });
  });

  it('when spans are not exported, makes none: a message keeps its traceparent, else gets the active span’s', async () => {
    const tracing = initTracing({ serviceName: 'test' });
    try {
      const [alone, bare] = await sent([
        { topic: 't', key: 'k', value: 1, headers: { traceparent: GIVEN, a: 'b' } },
        { topic: 't', key: null, value: 2 },
      ]);
      expect(alone!.headers).toEqual({ traceparent: GIVEN, a: 'b' });
      expect(bare!.headers?.traceparent).toBeUndefined();
      const request = tracer().startSpan('request');
      const inside = await withSpan(request, () =>
        sent([
          { topic: 't', key: 'a', value: 1, headers: { traceparent: GIVEN } },
          { topic: 't', key: 'b', value: 2 },
        ]),
      );
      request.end();
      expect(inside[0]!.headers!.traceparent).toBe(GIVEN);
      expect(inside[1]!.headers!.traceparent!.split('-')[2]).toBe(request.spanContext().spanId);
    } finally {
      await tracing.shutdown();
    }
  });

  it('when spans are exported, writes the produce span of each message: child of the active span, else of the given traceparent', async () => {
    // A collector that accepts and drops: only whether the spans are made matters here.
    const collector = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const { port } = collector.address() as AddressInfo;
    const tracing = initTracing({ serviceName: 'test', otlpEndpoint: `http://127.0.0.1:${port}` });
    try {
      const [alone, bare] = await sent([
        { topic: 't', key: 'k', value: 1, headers: { traceparent: GIVEN, a: 'b' } },
        { topic: 't', key: null, value: 2 },
      ]);
      const [, tid, sid] = alone!.headers!.traceparent!.split('-');
      expect(tid).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(sid).not.toBe('00f067aa0ba902b7');
      expect(alone!.headers!.a).toBe('b');
      expect(bare!.headers!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/); // a new trace

      const request = tracer().startSpan('request');
      const inside = await withSpan(request, () =>
        sent([
          { topic: 't', key: 'a', value: 1, headers: { traceparent: GIVEN } },
          { topic: 't', key: 'b', value: 2 },
        ]),
      );
      request.end();
      const ids = inside.map((m) => m.headers!.traceparent!.split('-'));
      for (const [, traceId] of ids) expect(traceId).toBe(request.spanContext().traceId);
      expect(ids[0]![2]).not.toBe(ids[1]![2]); // one span per message
    } finally {
      await tracing.shutdown();
      collector.close();
    }
  });

  it('fails the send when the broker does', async () => {
    await expect(
      sendTraced([{ topic: 't', key: null, value: 1 }], async () => {
        throw new Error('broker down');
      }),
    ).rejects.toThrow('broker down');
  });
});

describe('isBrokerUnavailable', () => {
  it('is true for the broker being unreachable, also when wrapped, and false for a refused message or a bug', () => {
    const err = (name: string, retriable?: boolean, originalError?: unknown) =>
      Object.assign(new Error(name), { name, retriable, originalError });
    expect(isBrokerUnavailable(err('KafkaJSConnectionError', true))).toBe(true);
    expect(
      isBrokerUnavailable(err('KafkaJSNumberOfRetriesExceeded', false, err('KafkaJSConnectionError'))),
    ).toBe(true);
    expect(isBrokerUnavailable(err('KafkaJSProtocolError', true))).toBe(true); // e.g. NOT_LEADER_OR_FOLLOWER
    expect(isBrokerUnavailable(new BrokerUnavailableError('mirror behind'))).toBe(true);
    expect(isBrokerUnavailable(err('KafkaJSProtocolError', false))).toBe(false); // e.g. MESSAGE_TOO_LARGE
    expect(isBrokerUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isBrokerUnavailable(undefined)).toBe(false);
  });
});
