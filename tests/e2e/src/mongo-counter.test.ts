import { MongoStore, WindowCounter } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The shared request counter must be exact across instances: two counters (two "instances"), 300
// concurrent hits, limit 200. On FerretDB the service uses slots (FerretDB 1.24 as released loses concurrent
// $inc, docs/adr/0002); MongoDB's scheme, one atomic $inc upsert per hit, is held to the same behaviour on
// the patched FerretDB, whose per-collection lock makes an update atomic as MongoDB's is (ADR 8).
describe('WindowCounter on the real database', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'counter-test', level: 'warn' });
  let store: MongoStore;
  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'counter-test' });
  });
  afterAll(() => store?.close());

  it('uses the slot scheme on FerretDB', () => {
    expect(new WindowCounter(store).scheme).toBe('slots');
  });

  it.each(['slots', 'increment'] as const)(
    'counts exactly the limit and refuses the rest, across two instances (%s)',
    async (scheme) => {
      const a = new WindowCounter(store, scheme);
      const b = new WindowCounter(store, scheme);
      const key = uniqueName('counter');
      const now = Date.now();
      const outcomes = await Promise.all(
        Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).hit(key, 60_000, 200, now)),
      );
      const allowed = outcomes.filter((o) => o.count <= 200).map((o) => o.count);
      expect(allowed).toHaveLength(200);
      expect(new Set(allowed).size).toBe(200); // every allowed hit got its own count
      expect(outcomes.filter((o) => o.count > 200)).toHaveLength(100);
      // The next window starts afresh.
      expect((await a.hit(key, 60_000, 200, now + 60_000)).count).toBe(1);
    },
  );

  it('keeps one document per window with the increment scheme, expiring after the next window', async () => {
    const counter = new WindowCounter(store, 'increment');
    const key = uniqueName('counter');
    const now = 1_800_000_000_000;
    await counter.hit(key, 60_000, 5, now);
    await counter.hit(key, 60_000, 5, now + 1);
    const docs = await store
      .collection('rate_limit_windows')
      .find({ _id: `${key}:${now}` as never })
      .toArray();
    expect(docs).toEqual([{ _id: `${key}:${now}`, count: 2, expires_at: new Date(now + 120_000) }]);
  });
});
