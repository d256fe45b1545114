import type { Logger } from '@hub/observability';
import type { Document } from 'mongodb';
import type { MongoStore } from './index.js';
import { DATABASE_PLAN } from './plan.js';

/**
 * Documents that expire at a stored date (the plan's TTL indexes: `expires_at` of the dedupe window,
 * stored events, monitoring records, request counters). On MongoDB the server's TTL monitor deletes them
 * (within a minute or so of their date; reads ignore expired documents meanwhile) and nothing here runs.
 * FerretDB has no TTL: there a sweeper deletes them. Services name what they expire and never learn which
 * database they talk to.
 */

/** The date field and delay of a collection's TTL index in the plan. */
function expiryOf(collection: string): { field: string; afterMs: number } {
  const ttl = DATABASE_PLAN.find((p) => p.collection === collection)?.indexes.find(
    (i) => i.expireAfterSeconds !== undefined,
  );
  const field = ttl && Object.keys(ttl.key)[0];
  if (!ttl || !field) throw new Error(`collection ${collection} has no TTL index in the database plan`);
  return { field, afterMs: (ttl.expireAfterSeconds ?? 0) * 1000 };
}

/**
 * Expired documents deleted per statement by a sweep on FerretDB: each batch is one short read (found
 * from the expiry index, patched FerretDB: ADR 8) and one delete by `_id`, so no statement holds SQLite's
 * read snapshot (and so its write-ahead log) for long, and none sends more ids than SQLite takes.
 */
export const SWEEP_BATCH = 1000;

/**
 * Deletes the documents of `collection` that match a sweep's `filter` (a range of one indexed field, e.g.
 * `{_deleted_at: {$lt: cutoff}}`), resolving with how many. On MongoDB one `deleteMany` (the plan's index
 * answers it). On FerretDB it reads the ids of up to SWEEP_BATCH matches (the patched FerretDB answers the
 * `$lt` from the plain index the layout makes there, docs/adr/0017), deletes those by `_id` with `filter`
 * again (a document that stopped matching meanwhile stays), and repeats until a read finds fewer: its cost
 * follows what matches, not what is stored, and no statement holds a read open for long.
 */
export async function sweepMatching(
  store: MongoStore,
  collection: string,
  filter: Document,
): Promise<number> {
  const col = store.db.collection(collection);
  if (!store.isFerretDB) return (await col.deleteMany(filter)).deletedCount;
  let total = 0;
  for (;;) {
    const ids = (
      await col.find(filter, { projection: { _id: 1 }, limit: SWEEP_BATCH, batchSize: SWEEP_BATCH }).toArray()
    ).map((d) => d._id);
    if (ids.length === 0) break;
    const { deletedCount } = await col.deleteMany({ _id: { $in: ids }, ...filter });
    total += deletedCount;
    // A short batch was the last; a batch no longer there was taken by another instance's sweep.
    if (ids.length < SWEEP_BATCH || deletedCount === 0) break;
  }
  return total;
}

/**
 * Deletes the expired documents of `collections` now, on a server without TTL indexes (FerretDB); does
 * nothing on MongoDB. Resolves with how many were deleted per collection. Any instance may run it. Each
 * collection is swept by `sweepMatching` (batches read from the plain expiry index, deleted by `_id`).
 */
export async function removeExpired(
  store: MongoStore,
  collections: readonly string[],
  now = new Date(),
): Promise<Record<string, number>> {
  const expiries = collections.map((c) => [c, expiryOf(c)] as const);
  if (!store.isFerretDB) return {};
  const removed: Record<string, number> = {};
  for (const [collection, { field, afterMs }] of expiries) {
    removed[collection] = await sweepMatching(store, collection, {
      [field]: { $lt: new Date(now.getTime() - afterMs) },
    });
  }
  return removed;
}

/**
 * Keeps `collections` free of expired documents: on FerretDB a sweeper every `intervalMs`, first at a
 * random point of the first interval (never at start-up: instances spread their sweeps); on MongoDB
 * nothing (the TTL indexes do it). Returns a function that stops it.
 */
export function expireDocuments(
  store: MongoStore,
  collections: readonly string[],
  { intervalMs, logger }: { intervalMs: number; logger: Logger },
): () => void {
  for (const c of collections) expiryOf(c); // a collection without TTL is a bug: say so at start-up
  if (!store.isFerretDB) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const sweep = async () => {
    try {
      const removed = await removeExpired(store, collections);
      if (Object.values(removed).some((n) => n > 0)) logger.info({ removed }, 'expired documents removed');
    } catch (err) {
      logger.warn({ err, collections }, 'removing expired documents failed; the next sweep retries');
    }
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void sweep().finally(() => schedule(intervalMs)), ms);
    timer.unref();
  };
  schedule(Math.random() * intervalMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
