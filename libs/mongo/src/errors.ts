import {
  MongoBulkWriteError,
  MongoClientClosedError,
  MongoError,
  MongoErrorLabel,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  type WriteError,
} from 'mongodb';

/**
 * Server error codes that say "the database cannot take this now, ask again": a replica set electing a
 * primary, a node shutting down or recovering, a network failure seen by the server, a sharded cluster
 * refreshing its routing, or a write concern that could not be satisfied in time. The set is the driver's
 * retryable-read/-write codes (mongodb 7.8 `src/error.ts`, `RETRYABLE_READ_ERROR_CODES`, the SDAM
 * "not writable primary" / "node is recovering" codes) plus the write concern and routing codes.
 */
export const UNAVAILABLE_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'HostUnreachable'],
  [7, 'HostNotFound'],
  [64, 'WriteConcernFailed'], // WriteConcernTimeout from 8.1
  [79, 'UnknownReplWriteConcern'],
  [89, 'NetworkTimeout'],
  [91, 'ShutdownInProgress'],
  [100, 'UnsatisfiableWriteConcern'],
  [133, 'FailedToSatisfyReadPreference'],
  [134, 'ReadConcernMajorityNotAvailableYet'],
  [189, 'PrimarySteppedDown'],
  [262, 'ExceededTimeLimit'],
  [9001, 'SocketException'],
  [10058, 'LegacyNotPrimary'],
  [10107, 'NotWritablePrimary'],
  [11600, 'InterruptedAtShutdown'],
  [11602, 'InterruptedDueToReplStateChange'],
  [13435, 'NotPrimaryNoSecondaryOk'],
  [13436, 'NotPrimaryOrSecondary'],
  [63, 'StaleShardVersion'],
  [150, 'StaleEpoch'],
  [13388, 'StaleConfig'],
]);

/**
 * Error labels the server or the driver put on an error that a later try may not meet: a retryable write
 * (also set on network errors), a pool cleared by a node shutting down, a transaction to run again, a
 * commit whose outcome is unknown, an overloaded server.
 */
export const UNAVAILABLE_LABELS: readonly string[] = [
  MongoErrorLabel.RetryableWriteError,
  MongoErrorLabel.ResetPool,
  MongoErrorLabel.PoolRequestedRetry,
  MongoErrorLabel.TransientTransactionError,
  MongoErrorLabel.UnknownTransactionCommitResult,
  MongoErrorLabel.RetryableError,
  MongoErrorLabel.SystemOverloadedError,
];

/** The message of a driver error the bulk code wrapped (it keeps the message, not the class). */
const WRAPPED_UNAVAILABLE =
  /connection .*closed|ECONNREFUSED|ECONNRESET|EPIPE|ended by the other party|not connected|timed out|Topology is closed|not master|node is recovering|pool .*cleared/i;

/**
 * The write concern error of a write, if the server sent one: the write was applied on the node that
 * answered but is not known to be durable (it may be rolled back after a failover). A write with one must
 * never count as stored. Looks at every shape the driver gives it: `MongoWriteConcernError` (single
 * writes), a `MongoBulkWriteError` whose result holds one (beside write errors or not), and the raw
 * `writeConcernError` field of a server reply.
 */
export function writeConcernErrorOf(err: unknown): { code?: number; errmsg?: string } | undefined {
  if (err instanceof MongoWriteConcernError) {
    return (
      (err.result?.writeConcernError as { code?: number; errmsg?: string }) ?? { code: Number(err.code) }
    );
  }
  if (err instanceof MongoBulkWriteError) {
    const fromResult =
      typeof err.result?.getWriteConcernError === 'function' && err.result.getWriteConcernError();
    if (fromResult) return { code: fromResult.code, errmsg: fromResult.errmsg };
    if (err.err) return { code: err.err.code, errmsg: err.err.errmsg };
  }
  if (err instanceof MongoServerError) {
    const raw = err.writeConcernError ?? err.errorResponse?.writeConcernError;
    if (raw && typeof raw === 'object') return raw as { code?: number; errmsg?: string };
  }
  return undefined;
}

/** The write errors of a bulk error (the result's, which the driver fills even when it reports a write concern error). */
export function writeErrorsOf(err: MongoBulkWriteError): WriteError[] {
  const fromResult =
    typeof err.result?.getWriteErrors === 'function' ? err.result.getWriteErrors() : undefined;
  const own = [err.writeErrors].flat().filter(Boolean) as WriteError[];
  return fromResult && fromResult.length >= own.length ? fromResult : own;
}

function hasUnavailableLabel(err: MongoError): boolean {
  return UNAVAILABLE_LABELS.some((label) => err.hasErrorLabel(label));
}

/**
 * The database could not take the operation now (unreachable, a connection broken, a replica set electing
 * a primary, a node shutting down, a write not replicated as asked): worth retrying later, not a bug and
 * not the request's fault. The gateway and config API answer 503 with `Retry-After` for these, and
 * consumers wait for them without spending a message's bounded attempts.
 *
 * Not unavailable: a duplicate key, a document the server refuses, any write error of a bulk command that
 * carries no write concern error (that write will fail the same way again).
 */
export function isUnavailableError(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 5) return false;
  if (
    err instanceof MongoNetworkError || // PoolClearedError, MongoNetworkTimeoutError too
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError ||
    err instanceof MongoServerClosedError ||
    err instanceof MongoClientClosedError ||
    err.name === 'MongoWaitQueueTimeoutError' // the pool had no connection to give in time (not exported)
  ) {
    return true;
  }
  if (writeConcernErrorOf(err)) return true;
  if (err instanceof MongoBulkWriteError) {
    // A write error (a duplicate, a refused document) fails the same way again; only a bulk command cut
    // off before any write error was reported is about the database's state.
    if (writeErrorsOf(err).length > 0) return false;
    if (hasUnavailableLabel(err)) return true;
    if (typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code)) return true;
    // A socket error the driver passed on unwrapped (seen on Node 26 when the database restarted: `EPIPE`,
    // "This socket has been ended by the other party"): the connection broke, nothing was refused.
    if (typeof err.code === 'string' && /^E(PIPE|CONNRESET|CONNREFUSED)$/.test(err.code)) return true;
    return WRAPPED_UNAVAILABLE.test(err.message);
  }
  if (err instanceof MongoError) {
    if (hasUnavailableLabel(err)) return true;
    if (typeof err.code === 'number' && UNAVAILABLE_CODES.has(err.code)) return true;
  }
  return err.cause !== undefined && isUnavailableError(err.cause, depth + 1);
}

/**
 * A unique index rejected the write (error 11000), e.g. two writers upserting the same key at once. Not
 * when the reply also carries a write concern error: then nothing about the write is settled.
 */
export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000 && !writeConcernErrorOf(err);
}

/**
 * A read's time limit, as options of `find`: `maxTimeMS` for the server (MongoDB counts it over the whole
 * cursor, FerretDB over `find` alone) and a signal that ends the cursor client-side (its connection closes,
 * which stops FerretDB's query). A read stopped either way is `isTimeLimitError`.
 */
export function timeLimit(ms: number): { maxTimeMS: number; signal: AbortSignal } {
  return { maxTimeMS: ms, signal: AbortSignal.timeout(ms) };
}

/**
 * A read stopped at its time limit: by the server (`maxTimeMS`, error 50: MongoDB, and FerretDB on `find`)
 * or by the `signal` passed with it (`TimeoutError`, or the driver's `MongoOperationTimeoutError` when the
 * signal ended the read of a reply; FerretDB stops the query when its connection closes). A signal that
 * ends while the read waits for a pooled connection comes out as `MongoWaitQueueTimeoutError`: the driver
 * (7.8) takes the signal's `TimeoutError` for its own check-out timeout. We set no `waitQueueTimeoutMS`, so
 * only a time limit can end that wait (seen under load in repository.int.test.ts; the API answered it 503
 * "unavailable", as `isUnavailableError` takes that name for a pool out of connections, where 400 "narrow
 * the query" is the answer).
 */
export function isTimeLimitError(err: unknown): boolean {
  if (err instanceof MongoServerError && err.code === 50) return true;
  const name = (err as { name?: unknown } | undefined)?.name;
  return (
    name === 'TimeoutError' || name === 'MongoOperationTimeoutError' || name === 'MongoWaitQueueTimeoutError'
  );
}
