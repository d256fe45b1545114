import type { ClientSession, MongoClient } from 'mongodb';
import type { DatabaseCapabilities } from './capabilities.js';

/**
 * The options a repository passes to every driver call inside `MongoStore.withTransaction`: spread them
 * into the call's options (`{ ...tx }`). Empty when the database has no transactions (FerretDB), so
 * repository code is the same on both.
 */
export interface Transaction {
  session?: ClientSession;
}

/** Outside a transaction (the default argument of a repository method that can take one). */
export const NO_TRANSACTION: Transaction = Object.freeze({});

/**
 * Runs `fn` as one multi-document transaction where the database has them (MongoDB replica set or
 * sharded cluster): all its writes are committed together or not at all, with majority read and write
 * concerns, reading from the primary. The driver runs `fn` again on a transient transaction error (an
 * election, a write conflict) for up to 120 s, so `fn` must only read and write through `tx` and have no
 * other effect. Without transactions (FerretDB 1.24) `fn` runs once, each write on its own, as before.
 */
export async function runInTransaction<T>(
  client: MongoClient,
  capabilities: DatabaseCapabilities,
  fn: (tx: Transaction) => Promise<T>,
): Promise<T> {
  if (!capabilities.transactions) return fn(NO_TRANSACTION);
  const session = client.startSession();
  try {
    return await session.withTransaction(async (s) => fn({ session: s }), {
      readConcern: { level: 'majority' },
      writeConcern: {
        w: 'majority',
        ...(capabilities.writeConcern.j !== undefined ? { journal: capabilities.writeConcern.j } : {}),
        ...(capabilities.writeConcern.wtimeoutMS !== undefined
          ? { wtimeoutMS: capabilities.writeConcern.wtimeoutMS }
          : {}),
      },
      readPreference: 'primary',
    });
  } finally {
    await session.endSession();
  }
}
