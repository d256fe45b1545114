import { LeaseBusyError, Leases, MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A lease of libs/mongo on the real database: one holder of a key at a time across "instances" (two
// Leases on two connections), a lease whose holder died taken over once it lapsed, and a busy one
// given up after the wait. What the configuration budget's check-and-write relies on (ADR 0015, decision 14).
describe('Leases on the real database', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'lease-test', level: 'warn' });
  let a: MongoStore;
  let b: MongoStore;
  beforeAll(async () => {
    a = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'lease-test-a' });
    b = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'lease-test-b' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('lets one holder of a key in at a time, across two instances; other keys are not held back', async () => {
    const leases = [new Leases(a), new Leases(b)];
    const key = uniqueName('lease');
    let inside = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        leases[i % 2]!.hold(key, { ttlMs: 30_000, waitMs: 30_000 }, async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(20);
          order.push(i);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // Another key while this one is held: entered at once.
    const other = uniqueName('lease');
    const entered = await leases[0]!.hold(key, { ttlMs: 30_000, waitMs: 5_000 }, () =>
      leases[1]!.hold(other, { ttlMs: 30_000, waitMs: 0 }, async () => 'entered'),
    );
    expect(entered).toBe('entered');
  });

  it('takes over a lease whose holder died once it lapsed, and gives up on a busy one after the wait', async () => {
    const key = uniqueName('lease');
    const leases = a.collection<{ _id: string; holder: string; expires_at: Date }>('leases');
    // A holder that died: its lease lapsed a second ago.
    await leases.insertOne({ _id: key, holder: 'dead', expires_at: new Date(Date.now() - 1_000) });
    expect(await new Leases(b).hold(key, { ttlMs: 30_000, waitMs: 0 }, async () => 'taken over')).toBe(
      'taken over',
    );
    expect(await leases.countDocuments({ _id: key })).toBe(0); // released
    // A live holder: the other instance waits, then gives up naming the key.
    const busy = await new Leases(a).hold(key, { ttlMs: 30_000, waitMs: 5_000 }, () =>
      new Leases(b).hold(key, { ttlMs: 30_000, waitMs: 100 }, async () => 'entered').catch((err) => err),
    );
    expect(busy).toBeInstanceOf(LeaseBusyError);
    expect((busy as Error).message).toMatch(new RegExp(`^lease "${key}" is held by another operation`));
  });
}, 60_000);
