/**
 * `@hub/mongo/testing`, for tests only (services never import it). Errors exactly as the mongodb 7.8
 * driver builds them from a server's reply: the driver's
 * own classes and its own bulk-result merging (`mergeBatchResults` of `lib/bulk/common.js`), following
 * `executeCommands` of `src/bulk/common.ts` step by step. No hand-made look-alikes: a test passing here
 * sees the objects production code sees.
 */
import { createRequire } from 'node:module';
import {
  type BulkWriteResult,
  type Document,
  MongoBulkWriteError,
  MongoNetworkError,
  MongoServerError,
  MongoWriteConcernError,
} from 'mongodb';

const require = createRequire(import.meta.url);
// Internal to the driver (not in its public types), the same module instance the public classes use.
const bulk = require('mongodb/lib/bulk/common.js') as {
  Batch: new (
    batchType: number,
    originalZeroIndex: number,
  ) => {
    operations: Document[];
    originalIndexes: number[];
  };
  BatchType: { INSERT: number };
  mergeBatchResults: (batch: unknown, bulkResult: unknown, err?: unknown, result?: Document) => void;
  BulkWriteResult: new (bulkResult: unknown, isOrdered: boolean) => BulkWriteResult;
};
const { BulkWriteResult: BulkWriteResultClass } = bulk;

/** A fresh bulk result as `BulkOperationBase` starts one, with the inserts' ids as `addToOperationsList` records them. */
function startBulk(docs: Array<{ _id: unknown }>) {
  const batch = new bulk.Batch(bulk.BatchType.INSERT, 0);
  docs.forEach((doc, index) => {
    batch.operations.push(doc);
    batch.originalIndexes.push(index);
  });
  const bulkResult = {
    ok: 1,
    writeErrors: [],
    writeConcernErrors: [],
    insertedIds: docs.map((doc, index) => ({ index, _id: doc._id })),
    nInserted: 0,
    nUpserted: 0,
    nMatched: 0,
    nModified: 0,
    nRemoved: 0,
    upserted: [],
  };
  return { batch, bulkResult };
}

/**
 * What `collection.insertMany(docs, { ordered: false })` throws (or `undefined` when it succeeds) when the
 * server answers the single `insert` command with `reply`, as `executeCommands` builds it:
 * - the server layer throws `MongoWriteConcernError(reply)` for any reply with `writeConcernError`
 *   (`throwIfWriteConcernError`); the bulk code merges it and throws a `MongoBulkWriteError` carrying
 *   only the write concern error's message and code (its `writeErrors` stays empty; the result has them);
 * - a reply with `ok: 0` is thrown as `MongoServerError(reply)`, wrapped as a `MongoBulkWriteError`;
 * - otherwise the reply is merged and `handleWriteError` throws for write errors.
 */
export function insertManyError(
  reply: Document,
  docs: Array<{ _id: unknown }>,
): MongoBulkWriteError | undefined {
  const { batch, bulkResult } = startBulk(docs);
  if (reply.writeConcernError) {
    const thrown = new MongoWriteConcernError(reply as never);
    bulk.mergeBatchResults(batch, bulkResult, thrown, undefined);
    return new MongoBulkWriteError(
      { message: reply.writeConcernError.errmsg, code: reply.writeConcernError.code },
      new BulkWriteResultClass(bulkResult, false),
    );
  }
  if (reply.ok === 0) {
    return new MongoBulkWriteError(new MongoServerError(reply), new BulkWriteResultClass(bulkResult, false));
  }
  bulk.mergeBatchResults(batch, bulkResult, undefined, reply);
  const result = new BulkWriteResultClass(bulkResult, false);
  if (bulkResult.writeErrors.length > 0) {
    const first = bulkResult.writeErrors[0] as unknown as { errmsg?: string; code: number };
    return new MongoBulkWriteError(
      {
        message: first.errmsg ?? 'write operation failed',
        code: first.code,
        writeErrors: bulkResult.writeErrors,
      },
      result,
    );
  }
  const wce = result.getWriteConcernError();
  return wce ? new MongoBulkWriteError(wce, result) : undefined;
}

/** What `insertMany` throws when the connection closes mid-command: the network error, wrapped. */
export function insertManyCutOff(docs: Array<{ _id: unknown }>, cause: string | Error): MongoBulkWriteError {
  const { bulkResult } = startBulk(docs);
  const error = typeof cause === 'string' ? new MongoNetworkError(cause) : cause;
  return new MongoBulkWriteError(error, new BulkWriteResultClass(bulkResult, false));
}

/** A duplicate-key write error entry of an `insert` reply. */
export const duplicate = (index: number, id: string) => ({
  index,
  code: 11000,
  errmsg: `E11000 duplicate key error collection: hub.things index: _id_ dup key: { _id: "${id}" }`,
  keyPattern: { _id: 1 },
  keyValue: { _id: id },
});

/** The write concern error a replica set sends when replication was cut by an election. */
export const replicationInterrupted = {
  code: 11602,
  codeName: 'InterruptedDueToReplStateChange',
  errmsg: 'operation was interrupted because a client disconnected or the node stepped down',
};

/** The write concern error of a `wtimeout` that expired before a majority acknowledged. */
export const majorityTimedOut = {
  code: 64,
  codeName: 'WriteConcernFailed',
  errmsg: 'waiting for replication timed out',
  errInfo: { wtimeout: true, writeConcern: { w: 'majority', wtimeout: 5000, provenance: 'clientSupplied' } },
};

/** What a single command (`insertOne`, `updateOne`, `find`...) throws when the server answers `reply` with `ok: 0`. */
export function commandError(reply: Document): MongoServerError {
  return new MongoServerError(reply);
}

/** What a single write throws when the server applied it but answers a write concern error beside it. */
export function writeConcernFailure(reply: Document): MongoWriteConcernError {
  return new MongoWriteConcernError(reply as never);
}

/** The replies of a replica set during an election, as the server sends them. */
export const electionReplies = {
  notWritablePrimary: {
    ok: 0,
    code: 10107,
    codeName: 'NotWritablePrimary',
    errmsg: 'not primary',
    errorLabels: ['RetryableWriteError'],
  },
  interrupted: {
    ok: 0,
    code: 11602,
    codeName: 'InterruptedDueToReplStateChange',
    errmsg: 'operation was interrupted',
    errorLabels: ['RetryableWriteError'],
  },
  steppedDown: { ok: 0, code: 189, codeName: 'PrimarySteppedDown', errmsg: 'primary stepped down' },
  shuttingDown: { ok: 0, code: 91, codeName: 'ShutdownInProgress', errmsg: 'the server is shutting down' },
} as const;
