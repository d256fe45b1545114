import { MongoStore, WindowCounter } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

// The shared request counter must be exact across instances on FerretDB, whose $inc loses concurrent
// updates (docs/adr/0002): two counters (two "instances"), 300 concurrent hits, limit 200.
describe('WindowCounter on the real database', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'counter-test', level: 'warn' });
  let store: MongoStore | undefined;
  afterAll(() => store?.close());

  it('counts exactly the limit and refuses the rest, across two instances', async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'counter-test' });
    const a = new WindowCounter(store);
    const b = new WindowCounter(store);
    const key = uniqueName('counter');
    const now = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).hit(key, 60_000, 200, now)),
    );
    const allowed = outcomes.filter((o) => o.count <= 200).map((o) => o.count);
    expect(allowed).toHaveLength(200);
    expect(new Set(allowed).size).toBe(200); // every allowed hit got its own slot
    expect(outcomes.filter((o) => o.count > 200)).toHaveLength(100);
  });
});
