// The error handling of libs/mongo with errors as the real driver throws them. The failures are set with
// MongoDB's own `configureFailPoint` (`failCommand`), sent through the driver: here to the fault injector of
// libs/testing in front of FerretDB (the test stack's MONGO_URL), which presents a replica set primary and
// implements that fail point; with MONGO_FAILPOINTS=server to the database itself, a MongoDB replica set
// started with `enableTestCommands=1` (the containers lane, HUB_INFRA=containers).
import { createLogger } from '@hub/observability';
import {
  type FailCommandData,
  type FailPointMode,
  MongoFaultInjector,
  resolveStack,
  uniqueName,
} from '@hub/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertManyNew, isDuplicateKeyError, isUnavailableError, MongoStore } from './index.js';

const stack = resolveStack();
const onServer = process.env.MONGO_FAILPOINTS === 'server';
let injector: MongoFaultInjector | undefined;
let store: MongoStore;

beforeAll(async () => {
  let url = new URL(stack.mongoUrl);
  url.pathname = '/hub_mongo_lib_test';
  if (!onServer) {
    injector = await MongoFaultInjector.start({ upstream: url.host });
    url = new URL(injector.url('hub_mongo_lib_test'));
  }
  store = await MongoStore.connect({
    url: url.toString(),
    logger: createLogger({ service: 'mongo-lib-test', level: 'silent' }),
    appName: 'mongo-lib-test',
  });
});
afterEach(() => failCommand('off'));
afterAll(async () => {
  await store?.db.dropDatabase().catch(() => undefined);
  await store?.close();
  await injector?.close();
});

/** MongoDB's `failCommand` fail point, for this test's client only. */
async function failCommand(mode: FailPointMode, data?: Omit<FailCommandData, 'appName'>): Promise<void> {
  await store.client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode,
    ...(data ? { data: { ...data, appName: 'mongo-lib-test' } } : {}),
  });
}

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
      await failCommand({ times: 1 }, { failCommands: ['insert'], writeConcernError: wce(code, errmsg) });
      const err = await thrown(() => insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]));
      expect((err as Error).name).toBe('MongoBulkWriteError');
      expect(String((err as Error).message)).toContain(errmsg);
      expect(isDuplicateKeyError(err)).toBe(false);
    }
  });

  it('throws a write concern error without duplicates', async () => {
    const col = await fresh();
    await failCommand({ times: 1 }, { failCommands: ['insert'], writeConcernError: wce() });
    await expect(insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }])).rejects.toThrow('waiting for replication');
  });

  it('throws when the connection closes under the command, and that error is "unavailable"', async () => {
    const col = await fresh();
    // Twice: a retryable write is retried once by the driver itself.
    await failCommand({ times: 2 }, { failCommands: ['insert'], closeConnection: true });
    const err = await thrown(() => insertManyNew(col, [{ _id: 'a' }, { _id: 'b' }]));
    expect(isUnavailableError(err)).toBe(true);
  });
});

describe('isUnavailableError, with the errors of an election', () => {
  for (const code of [10107, 11602, 189, 91]) {
    it(`is true for ${code} on a write, alone and wrapped in a bulk error, whether the driver retried or not`, async () => {
      const col = await fresh();
      // Twice: a retryable write (labelled RetryableWriteError by the server) is retried once by the driver.
      await failCommand({ times: 2 }, { failCommands: ['insert'], errorCode: code });
      const one = await thrown(() => col.insertOne({ _id: 'x' }));
      expect((one as { code?: number }).code).toBe(code);
      expect(isUnavailableError(one)).toBe(true);
      await failCommand({ times: 2 }, { failCommands: ['insert'], errorCode: code });
      const bulk = await thrown(() => insertManyNew(col, [{ _id: 'y' }, { _id: 'z' }]));
      expect((bulk as Error).name).toBe('MongoBulkWriteError');
      expect(isUnavailableError(bulk)).toBe(true);
      // An update of many documents is not a retryable write: the first error is the caller's.
      await failCommand({ times: 1 }, { failCommands: ['update'], errorCode: code });
      expect(isUnavailableError(await thrown(() => col.updateMany({}, { $set: { v: 1 } })))).toBe(true);
    });
  }

  it('is true for a read refused by a stepped-down primary (13435), false for a duplicate key', async () => {
    const col = await fresh(['a']);
    await failCommand({ times: 2 }, { failCommands: ['find'], errorCode: 13435 });
    expect(isUnavailableError(await thrown(() => col.find().toArray()))).toBe(true);
    const dup = await thrown(() => col.insertOne({ _id: 'a' }));
    expect(isDuplicateKeyError(dup)).toBe(true);
    expect(isUnavailableError(dup)).toBe(false);
  });
});

describe('retryable writes', () => {
  it('one NotWritablePrimary with RetryableWriteError is retried by the driver: the caller never sees it', async () => {
    const col = await fresh();
    await failCommand(
      { times: 1 },
      { failCommands: ['insert'], errorCode: 10107, errorLabels: ['RetryableWriteError'] },
    );
    await col.insertOne({ _id: 'once' });
    expect(await col.countDocuments({ _id: 'once' })).toBe(1);
  });
});
