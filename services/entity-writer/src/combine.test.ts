import type { IncomingMessage } from '@hub/kafka';
import { describe, expect, it } from 'vitest';
import { ChunkCombiner, COMBINED_MAX_MESSAGES } from './combine.js';

const chunk = (partition: number, n: number): IncomingMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    topic: 'erp.entity.updates',
    partition,
    offset: String(i),
    key: `k${partition}`,
    value: null,
    headers: {},
    timestamp: '0',
  }));

const where = (messages: IncomingMessage[]) => messages.map((m) => `${m.partition}:${m.offset}`);

class Unavailable extends Error {}

/** A combiner over a fake apply that records each call and takes at most `takes(call)` messages. */
function combiner(takes: (messages: IncomingMessage[], call: number) => number | Error = (m) => m.length) {
  const calls: string[][] = [];
  const c = new ChunkCombiner(
    async (messages) => {
      calls.push(where(messages));
      const taken = takes(messages, calls.length);
      if (taken instanceof Error) throw taken;
      return taken;
    },
    (err) => err instanceof Unavailable,
  );
  return { c, calls };
}

describe('ChunkCombiner', () => {
  it('applies the chunks handed over together in one call, each answered with its own count', async () => {
    const { c, calls } = combiner();
    const answers = await Promise.all([c.submit(chunk(0, 3)), c.submit(chunk(1, 2)), c.submit(chunk(2, 4))]);
    expect(answers).toEqual([3, 2, 4]);
    expect(calls).toHaveLength(1);
    // Each partition's messages in offset order, one partition after the other.
    expect(calls[0]).toEqual(['0:0', '0:1', '0:2', '1:0', '1:1', '2:0', '2:1', '2:2', '2:3']);
  });

  it('a chunk handed over later goes in a call of its own', async () => {
    const { c, calls } = combiner();
    expect(await c.submit(chunk(0, 2))).toBe(2);
    expect(await c.submit(chunk(1, 2))).toBe(2);
    expect(calls).toHaveLength(2);
  });

  it('a call that stops early: the chunk it stopped in gets its prefix, the chunks after it another call', async () => {
    // The first call takes 4 of 3 + 3 + 2 (it stopped inside partition 1's chunk); the second takes all.
    const { c, calls } = combiner((m, call) => (call === 1 ? 4 : m.length));
    const answers = await Promise.all([c.submit(chunk(0, 3)), c.submit(chunk(1, 3)), c.submit(chunk(2, 2))]);
    expect(answers).toEqual([3, 1, 2]);
    expect(calls).toEqual([
      ['0:0', '0:1', '0:2', '1:0', '1:1', '1:2', '2:0', '2:1'],
      ['2:0', '2:1'],
    ]);
  });

  it('a failed call: each chunk is applied on its own, and only the failing one fails', async () => {
    const bad = new Error('partition 1 cannot be written');
    const { c, calls } = combiner((m) => (m.some((x) => x.partition === 1) ? bad : m.length));
    const answers = await Promise.allSettled([
      c.submit(chunk(0, 2)),
      c.submit(chunk(1, 2)),
      c.submit(chunk(2, 1)),
    ]);
    expect(answers).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 1 },
    ]);
    expect(calls.slice(1).map((call) => call[0])).toEqual(['0:0', '1:0', '2:0']);
  });

  it('a database or broker that is down fails every chunk at once, without a call per chunk', async () => {
    const down = new Unavailable('database unavailable');
    const { c, calls } = combiner(() => down);
    const answers = await Promise.allSettled([c.submit(chunk(0, 2)), c.submit(chunk(1, 2))]);
    expect(answers).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
    expect(calls).toHaveLength(1);
  });

  it('never puts more than one chunk’s worth of messages in one call', async () => {
    const { c, calls } = combiner();
    const size = COMBINED_MAX_MESSAGES / 2 + 1;
    const answers = await Promise.all([
      c.submit(chunk(0, size)),
      c.submit(chunk(1, size)),
      c.submit(chunk(2, 5)),
    ]);
    expect(answers).toEqual([size, size, 5]);
    expect(calls.map((call) => call.length)).toEqual([size, size + 5]);
    expect(Math.max(...calls.map((call) => call.length))).toBeLessThanOrEqual(COMBINED_MAX_MESSAGES);
  });
});
