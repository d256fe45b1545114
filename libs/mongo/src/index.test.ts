import { MongoBulkWriteError, MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { insertManyNew, isUnavailableError } from './index.js';

/** A collection whose insertMany fails with `error`. */
const failing = (error: unknown) =>
  ({
    insertMany: async () => {
      throw error;
    },
  }) as never;

const bulkError = (
  writeErrors: Array<{ code: number; index: number }>,
  insertedCount: number,
  message = 'bulk',
) =>
  Object.assign(Object.create(MongoBulkWriteError.prototype), {
    message,
    writeErrors,
    result: { insertedCount },
  }) as MongoBulkWriteError;

const docs = [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }];

describe('insertManyNew', () => {
  it('reports the ids that existed already', async () => {
    expect(await insertManyNew(failing(bulkError([{ code: 11000, index: 1 }], 2)), docs)).toEqual(['b']);
  });

  it('throws when the command was cut off: no write errors, or not every document accounted for', async () => {
    const cutOff = bulkError([], 0, 'connection 3 to 127.0.0.1:27017 closed');
    await expect(insertManyNew(failing(cutOff), docs)).rejects.toBe(cutOff);
    const partial = bulkError([{ code: 11000, index: 0 }], 1);
    await expect(insertManyNew(failing(partial), docs)).rejects.toBe(partial);
    const other = bulkError([{ code: 2, index: 0 }], 2);
    await expect(insertManyNew(failing(other), docs)).rejects.toBe(other);
  });
});

describe('isUnavailableError', () => {
  it('is true for a lost connection, also when a bulk command wraps it, and false for a refused write', () => {
    expect(isUnavailableError(new MongoNetworkError('connection closed'))).toBe(true);
    expect(isUnavailableError(bulkError([], 0, 'connection 3 to 127.0.0.1:27017 closed'))).toBe(true);
    expect(isUnavailableError(bulkError([{ code: 11000, index: 0 }], 0, 'E11000 duplicate key'))).toBe(false);
    expect(isUnavailableError(new Error('x'))).toBe(false);
  });
});
