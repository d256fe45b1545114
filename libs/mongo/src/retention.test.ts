import { describe, expect, it } from 'vitest';
import { removeExpired } from './retention.js';

/** A store that records the deletes it is asked for. */
const store = (isFerretDB: boolean) => {
  const deletes: Array<[string, unknown]> = [];
  const fake = {
    isFerretDB,
    db: {
      collection: (name: string) => ({
        deleteMany: async (filter: unknown) => {
          deletes.push([name, filter]);
          return { deletedCount: 3 };
        },
      }),
    },
  };
  return { fake: fake as never, deletes };
};

describe('removeExpired', () => {
  it('sweeps by the plan’s TTL field on FerretDB', async () => {
    const { fake, deletes } = store(true);
    const now = new Date('2026-12-06T00:00:00Z');
    expect(await removeExpired(fake, ['dedupe', 'monitoring_events'], now)).toEqual({
      dedupe: 3,
      monitoring_events: 3,
    });
    expect(deletes).toEqual([
      ['dedupe', { expires_at: { $lt: now } }],
      ['monitoring_events', { expires_at: { $lt: now } }],
    ]);
  });

  it('leaves MongoDB to its TTL indexes', async () => {
    const { fake, deletes } = store(false);
    expect(await removeExpired(fake, ['dedupe', 'inbound_events'])).toEqual({});
    expect(deletes).toEqual([]);
  });

  it('refuses a collection without a TTL in the plan, on either server', async () => {
    for (const ferret of [true, false]) {
      await expect(removeExpired(store(ferret).fake, ['entities'])).rejects.toThrow(
        'collection entities has no TTL index in the database plan',
      );
    }
  });
});
