import {
  MongoNetworkError,
  MongoServerError,
  MongoServerSelectionError,
  MongoWriteConcernError,
} from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  insertManyNew,
  isDuplicateKeyError,
  isTimeLimitError,
  isUnavailableError,
  UNAVAILABLE_CODES,
} from './index.js';
import {
  duplicate,
  insertManyCutOff,
  insertManyError,
  majorityTimedOut,
  replicationInterrupted,
} from './testing.js';

/** A collection whose insertMany fails with `error` (the error itself is the driver's, see test/driver-errors.ts). */
const failing = (error: unknown) =>
  ({
    insertMany: async () => {
      throw error;
    },
  }) as never;

const docs = [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }];

describe('insertManyNew', () => {
  it('reports the ids that existed already', async () => {
    const err = insertManyError({ ok: 1, n: 2, writeErrors: [duplicate(1, 'b')] }, docs);
    expect(await insertManyNew(failing(err), docs)).toEqual(['b']);
  });

  it('throws, as unavailable, when a write concern error comes beside duplicates: nothing is known stored', async () => {
    for (const writeConcernError of [replicationInterrupted, majorityTimedOut]) {
      const err = insertManyError({ ok: 1, n: 2, writeErrors: [duplicate(1, 'b')], writeConcernError }, docs);
      await expect(insertManyNew(failing(err), docs)).rejects.toBe(err);
      expect(isUnavailableError(err)).toBe(true);
    }
  });

  it('throws, as unavailable, when a write concern error comes with no write error at all', async () => {
    const err = insertManyError({ ok: 1, n: 3, writeConcernError: majorityTimedOut }, docs);
    await expect(insertManyNew(failing(err), docs)).rejects.toBe(err);
    expect(isUnavailableError(err)).toBe(true);
  });

  it('throws when the command was cut off: no write errors, or not every document accounted for', async () => {
    const cutOff = insertManyCutOff(docs, 'connection 3 to 127.0.0.1:27017 closed');
    await expect(insertManyNew(failing(cutOff), docs)).rejects.toBe(cutOff);
    const partial = insertManyError({ ok: 1, n: 1, writeErrors: [duplicate(0, 'a')] }, docs);
    await expect(insertManyNew(failing(partial), docs)).rejects.toBe(partial);
    const other = insertManyError(
      { ok: 1, n: 2, writeErrors: [{ index: 0, code: 2, errmsg: 'bad value' }] },
      docs,
    );
    await expect(insertManyNew(failing(other), docs)).rejects.toBe(other);
  });

  it('throws when the whole command is refused by an election (ok: 0)', async () => {
    const err = insertManyError(
      {
        ok: 0,
        code: 10107,
        codeName: 'NotWritablePrimary',
        errmsg: 'not primary',
        errorLabels: ['RetryableWriteError'],
      },
      docs,
    );
    await expect(insertManyNew(failing(err), docs)).rejects.toBe(err);
    expect(isUnavailableError(err)).toBe(true);
  });

  it('a single document: a duplicate is an answer, a duplicate with a write concern error is not', async () => {
    const one = [{ _id: 'a' }];
    const dup = new MongoServerError(duplicate(0, 'a'));
    expect(await insertManyNew(failing(dup), one)).toEqual(['a']);
    const notDurable = new MongoWriteConcernError({
      ok: 1,
      n: 0,
      writeErrors: [duplicate(0, 'a')],
      writeConcernError: replicationInterrupted,
    } as never);
    await expect(insertManyNew(failing(notDurable), one)).rejects.toBe(notDurable);
  });
});

describe('isUnavailableError', () => {
  const serverError = (code: number, codeName: string, errorLabels?: string[]) =>
    new MongoServerError({
      ok: 0,
      code,
      codeName,
      errmsg: codeName,
      ...(errorLabels ? { errorLabels } : {}),
    });

  it('is true for every election, shutdown, network and routing code the server answers', () => {
    for (const [code, codeName] of UNAVAILABLE_CODES) {
      expect(isUnavailableError(serverError(code, codeName)), `${code} ${codeName}`).toBe(true);
    }
    for (const code of [10107, 13435, 11602, 11600, 189, 91, 13436, 10058, 262, 6, 7, 89, 9001, 64, 100]) {
      expect(UNAVAILABLE_CODES.has(code), String(code)).toBe(true);
    }
  });

  it('is true for the retry labels, whatever the code', () => {
    for (const label of [
      'RetryableWriteError',
      'ResetPool',
      'TransientTransactionError',
      'UnknownTransactionCommitResult',
    ]) {
      expect(isUnavailableError(serverError(112, 'WriteConflict', [label])), label).toBe(true);
    }
    expect(isUnavailableError(serverError(112, 'WriteConflict'))).toBe(false);
  });

  it('is true for a write concern error on an otherwise successful write', () => {
    const err = new MongoWriteConcernError({ ok: 1, n: 1, writeConcernError: majorityTimedOut } as never);
    expect(isUnavailableError(err)).toBe(true);
  });

  it('is true for a bulk command cut off by an election or by the connection, with no write error', () => {
    const election = insertManyError(
      { ok: 0, code: 11602, codeName: 'InterruptedDueToReplStateChange' },
      docs,
    );
    expect(isUnavailableError(election)).toBe(true);
    const stepDown = insertManyError(
      { ok: 0, code: 189, codeName: 'PrimarySteppedDown', errmsg: 'x', errorLabels: ['RetryableWriteError'] },
      docs,
    );
    expect(isUnavailableError(stepDown)).toBe(true);
    expect(isUnavailableError(insertManyCutOff(docs, 'connection 3 to 127.0.0.1:27017 closed'))).toBe(true);
    // The socket error as the driver passed it on when the database restarted under load (npm test's chaos
    // run on Node 26): a plain Error with a string code, not a MongoNetworkError.
    const ended = Object.assign(new Error('This socket has been ended by the other party'), {
      code: 'EPIPE',
    });
    expect(isUnavailableError(insertManyCutOff(docs, ended))).toBe(true);
  });

  it('is true for the driver losing the server, also wrapped as the cause of another error', () => {
    expect(isUnavailableError(new MongoNetworkError('connection closed'))).toBe(true);
    const selection = new MongoServerSelectionError('Server selection timed out after 10000 ms', {} as never);
    expect(isUnavailableError(selection)).toBe(true);
    expect(
      isUnavailableError(new Error('saving failed', { cause: serverError(10107, 'NotWritablePrimary') })),
    ).toBe(true);
  });

  it('is false for a refused write: a duplicate, a bad document, a bulk of write errors, any other error', () => {
    const dup = insertManyError({ ok: 1, n: 0, writeErrors: [duplicate(0, 'a')] }, docs);
    expect(isUnavailableError(dup)).toBe(false);
    expect(isUnavailableError(new MongoServerError(duplicate(0, 'a')))).toBe(false);
    expect(isUnavailableError(serverError(121, 'DocumentValidationFailure'))).toBe(false);
    expect(isUnavailableError(insertManyError({ ok: 0, code: 2, codeName: 'BadValue' }, docs))).toBe(false);
    expect(isUnavailableError(new Error('x'))).toBe(false);
    expect(isUnavailableError('connection closed')).toBe(false);
  });
});

describe('isDuplicateKeyError', () => {
  it('is true for error 11000, and false when the same reply carries a write concern error', () => {
    expect(isDuplicateKeyError(new MongoServerError(duplicate(0, 'a')))).toBe(true);
    const notDurable = new MongoServerError({
      ...duplicate(0, 'a'),
      writeConcernError: replicationInterrupted,
    });
    expect(isDuplicateKeyError(notDurable)).toBe(false);
  });
});

describe('isTimeLimitError', () => {
  it('is true for a read the server stopped at maxTimeMS or its signal ended, false for other failures', () => {
    const maxTime = new MongoServerError({
      ok: 0,
      code: 50,
      codeName: 'MaxTimeMSExpired',
      errmsg: 'operation exceeded time limit',
    });
    expect(isTimeLimitError(maxTime)).toBe(true);
    expect(isTimeLimitError(Object.assign(new Error('aborted'), { name: 'TimeoutError' }))).toBe(true);
    expect(
      isTimeLimitError(
        Object.assign(new Error('Timed out during socket read'), { name: 'MongoOperationTimeoutError' }),
      ),
    ).toBe(true);
    // The signal ended while the read waited for a pooled connection (driver 7.8's name for it).
    // (The driver does not export its class: `name` is what the driver's error carries.)
    const checkout = Object.assign(
      new Error('Timed out while checking out a connection from connection pool'),
      {
        name: 'MongoWaitQueueTimeoutError',
      },
    );
    expect(isTimeLimitError(checkout)).toBe(true);
    expect(isTimeLimitError(new MongoServerError(duplicate(0, 'a')))).toBe(false);
    expect(isTimeLimitError(new MongoNetworkError('connection closed'))).toBe(false);
    expect(isTimeLimitError(undefined)).toBe(false);
  });
});
