import { describe, expect, it } from 'vitest';
import { entityIdFor, type KeySets, keySetOf } from './keys.js';
import type { EntitiesRepository, EntityDoc } from './repository.js';
import { EntitySearch } from './search.js';

const org = 'org-1';
const schema = 'contact';

/** A repository that records which reads the search made: by id, or the query on attributes. */
function fakes(
  recorded: string[],
  stored: EntityDoc[] = [],
  attributes?: (maxMs?: number) => Promise<EntityDoc[]>,
) {
  const calls = { byId: 0, attributes: 0 };
  const repository = {
    getMany: async (keys: Array<{ _id: string }>) => {
      calls.byId++;
      return new Map(stored.filter((d) => keys.some((k) => k._id === d._id)).map((d) => [d._id, d]));
    },
    search: async (...args: unknown[]) => {
      calls.attributes++;
      return attributes ? attributes(args[5] as number | undefined) : stored;
    },
  } as unknown as EntitiesRepository;
  const keySets = {
    read: async (ids: string[]) =>
      new Map(recorded.length > 0 ? ids.map((id) => [id, new Set(recorded)]) : []),
  } as unknown as KeySets;
  return { calls, search: new EntitySearch(repository, keySets, 1_234) };
}

const contact = (customer: string): EntityDoc => ({
  _id: entityIdFor(org, schema, { customer_number: customer }, 0),
  _org: org,
  _schema: schema,
  _created_at: '',
  _updated_at: '',
  _hub: { version: 1, applied: [] },
  customer_number: customer,
});

describe('the entity search', () => {
  it('answers no entity for a schema nothing was created under, without the query on attributes', async () => {
    // The guide's read-back polled before the first event has landed: on FerretDB the query on attributes
    // reads every organisation's entities (over 60 s at 200,000), so it must not run.
    const { calls, search } = fakes([]);
    expect(await search.search(org, schema, { customer_number: 'C001' }, 51, undefined)).toEqual([]);
    expect(await search.search(org, schema, { city: 'Berlin' }, 51, undefined)).toEqual([]);
    expect(await search.search(org, schema, {}, 51, undefined)).toEqual([]);
    expect(calls).toEqual({ byId: 0, attributes: 0 });
  });

  it('reads the schema’s one key set by derived id', async () => {
    const { calls, search } = fakes([keySetOf({ customer_number: 'x' })], [contact('C001')]);
    const found = await search.search(org, schema, { customer_number: 'C001' }, 51, undefined);
    expect(found.map((d) => d.customer_number)).toEqual(['C001']);
    expect(calls.attributes).toBe(0);
    expect(await search.search(org, schema, { customer_number: 'C002' }, 51, undefined)).toEqual([]);
    expect(calls.attributes).toBe(0);
  });

  it('queries the attributes when entities of the schema exist and the search names no key set of theirs', async () => {
    const { calls, search } = fakes([keySetOf({ customer_number: 'x' })], [contact('C001')]);
    await search.search(org, schema, { email: 'a@example.com' }, 51, undefined);
    await search.search(org, schema, {}, 51, undefined);
    expect(calls.attributes).toBe(2);
  });

  it('stops a query on attributes at its time limit and says how to search instead (issue 19)', async () => {
    // On FerretDB the query reads every organisation's entities: the repository gets the limit, and a
    // read stopped by it (the server's error 50, or the signal's) is a 400 that says what to do.
    const limits: Array<number | undefined> = [];
    const stopped = Object.assign(new Error('operation exceeded time limit'), { name: 'TimeoutError' });
    const { search } = fakes([keySetOf({ customer_number: 'x' })], [], async (maxMs) => {
      limits.push(maxMs);
      throw stopped;
    });
    await expect(search.search(org, schema, { city: 'Berlin' }, 51, undefined)).rejects.toMatchObject({
      statusCode: 400,
      code: 'QUERY_TOO_LARGE',
      message: expect.stringContaining('1234 ms'),
    });
    expect(limits).toEqual([1_234]);
  });
});
