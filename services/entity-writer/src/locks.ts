import { randomUUID } from 'node:crypto';
import { isDuplicateKeyError, type MongoStore } from '@hub/mongo';

interface LockDoc {
  _id: string;
  token: string;
  expires_at: string;
}

/** A lock left by a crashed holder is taken over after this long; a write holds it for milliseconds. */
const LEASE_MS = 15_000;
const WAIT_MS = 20_000;

/**
 * Per-entity write locks. FerretDB 1.24 applies `updateOne` as read-then-replace without isolation, so
 * two compare-and-set updates of one document can both match the same version and the later one
 * silently undoes the earlier (observed: a relation target's outbox clean-up erased a concurrent merge).
 * Every read-modify-write of an entity therefore runs under a lock: an insert into `entity_locks`,
 * which the unique `_id` makes atomic on both MongoDB and FerretDB (ADR 5).
 */
export class EntityLocks {
  private readonly docs;

  constructor(store: MongoStore) {
    this.docs = store.collection<LockDoc>('entity_locks');
  }

  async with<T>(entityId: string, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const deadline = Date.now() + WAIT_MS;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.docs.insertOne({
          _id: entityId,
          token,
          expires_at: new Date(Date.now() + LEASE_MS).toISOString(),
        });
        break;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      await this.docs.deleteOne({ _id: entityId, expires_at: { $lt: new Date().toISOString() } });
      if (Date.now() > deadline) throw new Error(`entity ${entityId} stayed locked for ${WAIT_MS} ms`);
      await new Promise((r) =>
        setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())),
      );
    }
    try {
      return await fn();
    } finally {
      await this.docs.deleteOne({ _id: entityId, token });
    }
  }
}
