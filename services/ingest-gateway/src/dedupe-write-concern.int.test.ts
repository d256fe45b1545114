import { type Collection, isUnavailableError, MongoStore } from '@hub/mongo';
import { insertManyError, replicationInterrupted } from '@hub/mongo/testing';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DedupeStore } from './dedupe.js';

// Issue 18: a claim insert the database applied but could not replicate as asked (a write concern error,
// here built by the driver's own code from a replica set's reply) is not a claim. The request fails as
// "unavailable" (503), and its retry is not kept waiting behind the claims the failed request left.
describe('deduplication claims after a write concern error', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'dedupe-test', level: 'silent' });
  let store: MongoStore;
  let failNextInsert = false;

  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'dedupe-test' });
  });
  afterAll(() => store?.close());

  /** The real `dedupe` collection, whose next insertMany stores the documents and then reports a write concern error. */
  const flaky = (): MongoStore =>
    ({
      collection: (name: string) => {
        const real = store.collection<{ _id: string }>(name) as Collection<{ _id: string }>;
        if (name !== 'dedupe') return real;
        return new Proxy(real, {
          get(target, prop) {
            if (prop === 'insertMany' && failNextInsert) {
              return async (docs: Array<{ _id: string }>, options: object) => {
                failNextInsert = false;
                await target.insertMany(docs, options);
                throw insertManyError(
                  { ok: 1, n: docs.length, writeConcernError: replicationInterrupted },
                  docs,
                );
              };
            }
            const value = Reflect.get(target, prop, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    }) as unknown as MongoStore;

  it('fails the claim as unavailable, and the retry claims the same ids at once', async () => {
    const dedupe = new DedupeStore(flaky(), { windowMs: 3_600_000, staleAfterMs: 60_000, waitMs: 300 });
    const org = uniqueName('org');
    const items = [
      { deduplicationId: 'd1', eventId: crypto.randomUUID() },
      { deduplicationId: 'd2', eventId: crypto.randomUUID() },
    ];
    failNextInsert = true;
    const failed = await dedupe.claimMany(org, 'i1', items, 'first-request').catch((err: unknown) => err);
    expect(isUnavailableError(failed)).toBe(true);
    const retry = await dedupe.claimMany(org, 'i1', items, 'the-retry');
    expect(retry.map((r) => r.kind)).toEqual(['claimed', 'claimed']);
  });
});
