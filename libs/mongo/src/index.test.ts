// The error handling of libs/mongo with errors as the real driver throws them: FerretDB (the test stack's
// MONGO_URL) behind the fault injector of libs/testing, which presents it as a replica set primary and
// answers chosen commands as MongoDB does during a failover.
import { createLogger } from '@hub/observability';
import { MongoFaultInjector, resolveStack, uniqueName } from '@hub/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertManyNew, isDuplicateKeyError, isUnavailableError, MongoStore } from './index.js';

const stack = resolveStack();
let injector: MongoFaultInjector;
let store: MongoStore;

beforeAll(async () => {
  injector = await MongoFaultInjector.start({ upstream: new URL(stack.mongoUrl).host });
  store = await MongoStore.connect({
    url: injector.url('hub_mongo_lib_test'),
    logger: createLogger({ service: 'mongo-lib-test', level: 'silent' }),
    appName: 'mongo-lib-test',
  });
});
afterEach(() => injector.reset());
afterAll(async () => {
  await store?.db.dropDatabase().catch(() => undefined);
  await store?.close();
  await injector?.close();
});

const fresh = async (ids: string[] = []) => {
  const col = store.collection<{ _id: string; v?: number }>(uniqueName('docs'));
  if (ids.length > 0) await col.insertMany(ids.map((_id) => ({ _id })));
  return col;
};

/** What a call throws (fails the test when it does not). */
async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got none');
}

const wce = (code = 64, errmsg = 'waiting for replication timed out') => ({
  code,
  errmsg,
  ...(code === 64 ? { errInfo: { wtimeout: true } } : {}),
});

describe('insertManyNew', () => {
  it('reports the ids that existed already, and stores the others', async () => {
    const col = await fresh(['b']);
    expect(await insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }])).toEqual(['b']);
    expect((await col.find().toArray()).map((d) => d._id).sort()).toEqual(['a', 'b', 'c']);
  });

  it('throws a write concern error beside duplicates: nothing is "stored" that may be rolled back', async () => {
    for (const [code, errmsg] of [
      [64, 'waiting for replication timed out'],
      [100, 'replication interrupted'],
    ] as const) {
      const col = await fresh(['b']);
      injector.failCommand({
        mode: { times: 1 },
        data: { failCommands: ['insert'], writeConcernError: wce(code, errmsg) },
      });
      const err = await thrown(() => insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]));
      expect((err as Error).name).toBe('MongoBulkWriteError');
      expect(String((err as Error).message)).toContain(errmsg);
      expect(isDuplicateKeyError(err)).toBe(false);
    }
  });

  it('throws a write concern error without duplicates', async () => {
    const col = await fresh();
    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['insert'], writeConcernError: wce() },
    });
    await expect(insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }])).rejects.toThrow('waiting for replication');
  });

  it('throws when the connection closes under the command, and that error is "unavailable"', async () => {
    const col = await fresh();
    // Twice: a retryable write is retried once by the driver itself.
    injector.failCommand({ mode: { times: 2 }, data: { failCommands: ['insert'], closeConnection: true } });
    const err = await thrown(() => insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }]));
    expect(isUnavailableError(err)).toBe(true);
  });
});

describe('isUnavailableError, with the errors of an election', () => {
  for (const code of [10107, 11602, 189, 91]) {
    it(`is true for ${code} on a write, alone and wrapped in a bulk error, whether the driver retried or not`, async () => {
      const col = await fresh();
      // hello keeps saying primary, so the driver's one retry meets the same error.
      const election = injector.election({ seconds: 30, code, hello: 'primary' });
      try {
        const one = await thrown(() => col.insertOne({ _id: 'x' }));
        expect((one as { code?: number }).code).toBe(code);
        expect(isUnavailableError(one)).toBe(true);
        const bulk = await thrown(() => insertManyNew(col, [{ _id: 'y' }, { _id: 'z' }]));
        expect((bulk as Error).name).toBe('MongoBulkWriteError');
        expect(isUnavailableError(bulk)).toBe(true);
        const update = await thrown(() => col.updateMany({}, { $set: { v: 1 } }));
        expect(isUnavailableError(update)).toBe(true);
      } finally {
        injector.endElection();
        await election;
      }
    });
  }

  it('is true for a read refused by a stepped-down primary (13435), false for a duplicate key', async () => {
    const col = await fresh(['a']);
    const election = injector.election({ seconds: 30, hello: 'primary' });
    try {
      expect(isUnavailableError(await thrown(() => col.find().toArray()))).toBe(true);
    } finally {
      injector.endElection();
      await election;
    }
    const dup = await thrown(() => col.insertOne({ _id: 'a' }));
    expect(isDuplicateKeyError(dup)).toBe(true);
    expect(isUnavailableError(dup)).toBe(false);
  });
});

describe('retryable writes', () => {
  it('one NotWritablePrimary with RetryableWriteError is retried by the driver: the caller never sees it', async () => {
    const col = await fresh();
    injector.failCommand({
      mode: { times: 1 },
      data: { failCommands: ['insert'], errorCode: 10107, errorLabels: ['RetryableWriteError'] },
    });
    await col.insertOne({ _id: 'once' });
    expect(injector.failPointEntered).toBe(1);
    expect(await col.countDocuments({ _id: 'once' })).toBe(1);
  });
});
