import { randomUUID } from 'node:crypto';
import { type Collection, isDuplicateKeyError, type MongoStore } from '@hub/mongo';

interface DedupeDoc {
  _id: string;
  org_id: string;
  integration_id: string;
  state: 'pending' | 'accepted';
  owner: string;
  claimed_at: Date;
  expires_at: Date;
  event_id?: string;
}

/**
 * `claimed` with `eventId`: a request that died after claiming left this id pending; its event may already
 * be on Kafka, so the retry reuses the event id it was given, and a second copy is a harmless redelivery.
 */
export type ClaimResult =
  | { kind: 'claimed'; claim: Claim; eventId?: string }
  | { kind: 'duplicate' }
  | { kind: 'busy' };

export interface Claim {
  id: string;
  owner: string;
}

export interface DedupeSettings {
  windowMs: number;
  /** A pending claim older than this belongs to a request that died: it may be taken over. */
  staleAfterMs: number;
  /** How long a request waits for a concurrent request holding the same id to finish. */
  waitMs: number;
}

/**
 * The deduplication window (`deduplication_id` per integration, 24 h by default), race-free across
 * gateway instances through a unique `_id`:
 * - claim: insert a pending marker; exactly one concurrent request wins.
 * - accept: after the event is on Kafka, the marker becomes `accepted`; later requests get `skipped`.
 * - release: when the hand-over failed, the marker is removed, so a retry is never reported `skipped`.
 * Expired markers count as absent and are deleted by `sweep` (no TTL index: FerretDB has none).
 */
export class DedupeStore {
  private readonly docs: Collection<DedupeDoc>;

  constructor(
    store: MongoStore,
    private readonly settings: DedupeSettings,
  ) {
    this.docs = store.collection<DedupeDoc>('dedupe');
  }

  async ensureIndexes(store: MongoStore): Promise<void> {
    await store.ensureIndexes('dedupe', [{ key: { expires_at: 1 }, name: 'expires_at' }]);
  }

  async claim(
    orgId: string,
    integrationId: string,
    deduplicationId: string,
    eventId: string,
  ): Promise<ClaimResult> {
    const id = `${orgId}:${integrationId}:${deduplicationId}`;
    const owner = randomUUID();
    const deadline = Date.now() + this.settings.waitMs;
    for (;;) {
      const now = new Date();
      const fresh: DedupeDoc = {
        _id: id,
        org_id: orgId,
        integration_id: integrationId,
        state: 'pending',
        owner,
        claimed_at: now,
        expires_at: new Date(now.getTime() + this.settings.windowMs),
        event_id: eventId,
      };
      try {
        await this.docs.insertOne(fresh);
        return { kind: 'claimed', claim: { id, owner } };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const existing = await this.docs.findOne({ _id: id });
      if (!existing) continue; // released meanwhile: try again
      const expired = existing.expires_at.getTime() <= now.getTime();
      const stale =
        existing.state === 'pending' &&
        now.getTime() - existing.claimed_at.getTime() > this.settings.staleAfterMs;
      if (expired || stale) {
        // Take it over only if nobody else did in between (compare-and-set on the owner).
        // A stale pending claim keeps its event id (see ClaimResult); an expired one starts afresh.
        const previous = stale && !expired ? existing.event_id : undefined;
        const { _id: _ignored, ...replacement } = { ...fresh, event_id: previous ?? eventId };
        const taken = await this.docs.updateOne({ _id: id, owner: existing.owner }, { $set: replacement });
        if (taken.modifiedCount === 1) {
          return { kind: 'claimed', claim: { id, owner }, ...(previous ? { eventId: previous } : {}) };
        }
        continue;
      }
      if (existing.state === 'accepted') return { kind: 'duplicate' };
      if (Date.now() >= deadline) return { kind: 'busy' };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async accept(claim: Claim, eventId: string): Promise<void> {
    await this.docs.updateOne(
      { _id: claim.id, owner: claim.owner },
      { $set: { state: 'accepted', event_id: eventId } },
    );
  }

  async release(claim: Claim): Promise<void> {
    await this.docs.deleteOne({ _id: claim.id, owner: claim.owner });
  }

  /** Deletes expired markers; any instance may run it. */
  async sweep(): Promise<number> {
    const result = await this.docs.deleteMany({ expires_at: { $lt: new Date() } });
    return result.deletedCount;
  }
}
