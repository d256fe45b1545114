import { describe, expect, it } from 'vitest';
import { removeExpired, SWEEP_BATCH } from './retention.js';

/**
 * A store whose collections hold `expired` expired documents each and record what the sweep asks: the
 * reads (filter, limit) and the deletes. The server's answers to such commands are in
 * retention-sweep.test.ts, against FerretDB.
 */
const store = (isFerretDB: boolean, expired = 3) => {
  const calls: Array<[string, string, unknown, number?]> = [];
  const left = new Map<string, string[]>();
  const fake = {
    isFerretDB,
    db: {
      collection: (name: string) => {
        if (!left.has(name))
          left.set(
            name,
            Array.from({ length: expired }, (_, i) => `${name}-${i}`),
          );
        const ids = () => left.get(name) ?? [];
        return {
          find: (filter: unknown, options: { limit: number }) => ({
            toArray: async () => {
              calls.push([name, 'find', filter, options.limit]);
              return ids()
                .slice(0, options.limit)
                .map((_id) => ({ _id }));
            },
          }),
          deleteMany: async (filter: { _id: { $in: string[] } }) => {
            calls.push([name, 'delete', filter]);
            const gone = new Set(filter._id.$in);
            const before = ids().length;
            left.set(
              name,
              ids().filter((id) => !gone.has(id)),
            );
            return { deletedCount: before - ids().length };
          },
        };
      },
    },
  };
  return { fake: fake as never, calls };
};

describe('removeExpired', () => {
  it('reads expired ids by the plan’s TTL field and deletes them by _id with the same condition, on FerretDB', async () => {
    const { fake, calls } = store(true);
    const now = new Date('2026-12-06T00:00:00Z');
    expect(await removeExpired(fake, ['dedupe', 'monitoring_events'], now)).toEqual({
      dedupe: 3,
      monitoring_events: 3,
    });
    const expired = { expires_at: { $lt: now } };
    expect(calls).toEqual([
      ['dedupe', 'find', expired, SWEEP_BATCH],
      ['dedupe', 'delete', { _id: { $in: ['dedupe-0', 'dedupe-1', 'dedupe-2'] }, ...expired }],
      ['monitoring_events', 'find', expired, SWEEP_BATCH],
      [
        'monitoring_events',
        'delete',
        { _id: { $in: ['monitoring_events-0', 'monitoring_events-1', 'monitoring_events-2'] }, ...expired },
      ],
    ]);
  });

  it('deletes in batches of SWEEP_BATCH until a read finds fewer', async () => {
    const { fake, calls } = store(true, 2 * SWEEP_BATCH + 5);
    expect(await removeExpired(fake, ['dedupe'])).toEqual({ dedupe: 2 * SWEEP_BATCH + 5 });
    const deletes = calls.filter((c) => c[1] === 'delete') as Array<
      [string, string, { _id: { $in: string[] } }]
    >;
    expect(deletes.map((d) => d[2]._id.$in.length)).toEqual([SWEEP_BATCH, SWEEP_BATCH, 5]);
    expect(calls.filter((c) => c[1] === 'find')).toHaveLength(3);
  });

  it('leaves MongoDB to its TTL indexes', async () => {
    const { fake, calls } = store(false);
    expect(await removeExpired(fake, ['dedupe', 'inbound_events'])).toEqual({});
    expect(calls).toEqual([]);
  });

  it('refuses a collection without a TTL in the plan, on either server', async () => {
    for (const ferret of [true, false]) {
      await expect(removeExpired(store(ferret).fake, ['entities'])).rejects.toThrow(
        'collection entities has no TTL index in the database plan',
      );
    }
  });
});
