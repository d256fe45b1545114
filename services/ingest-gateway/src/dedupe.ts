import { randomUUID } from 'node:crypto';
import { type Collection, insertManyNew, type MongoStore } from '@hub/mongo';

/**
 * The claims of a request whose events are on Kafka: one marker per request, `_id` = the claims' `owner`
 * (docs/adr/0018). Markers written before it have the claim's `_id` instead (one per claim), and count until
 * they expire.
 */
interface AcceptedDoc {
  _id: string;
  expires_at: Date;
}

interface DedupeDoc {
  _id: string;
  org_id: string;
  integration_id: string;
  state: 'pending' | 'accepted';
  owner: string;
  claimed_at: Date;
  expires_at: Date;
  event_id?: string;
  /** The hand-over of its event failed with an unknown outcome: a retry takes the claim over at once. */
  in_doubt?: boolean;
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
 * - accept: after the request's events are on Kafka, one marker for all its claims is inserted
 *   (`dedupe_accepted`, `_id` = the claims' `owner`; an insert, which costs the database a quarter of an
 *   update, and one per request, not per claim: docs/adr/0018); later requests get `skipped`. A takeover
 *   changes the owner, so an earlier request's acceptance never counts for the taker.
 * - release: when the hand-over failed before anything was sent, the claim is removed, so a retry is
 *   never reported `skipped`.
 * - in doubt: when the send failed with an unknown outcome (the broker may have written the event), the
 *   claim stays pending with its event id and is marked in doubt; the retry takes it over at once and
 *   sends the same event id again, which the pipeline ignores if the first copy was written.
 * Expired claims and markers count as absent; they are deleted by their TTL index on MongoDB and by the
 * gateway's sweeper on FerretDB (libs/mongo retention.ts).
 */
export class DedupeStore {
  private readonly docs: Collection<DedupeDoc>;
  private readonly accepted: Collection<AcceptedDoc>;

  constructor(
    store: MongoStore,
    private readonly settings: DedupeSettings,
  ) {
    this.docs = store.collection<DedupeDoc>('dedupe');
    this.accepted = store.collection<AcceptedDoc>('dedupe_accepted');
  }

  /** Claims one deduplication id (see `claimMany`). */
  async claim(
    orgId: string,
    integrationId: string,
    deduplicationId: string,
    eventId: string,
  ): Promise<ClaimResult> {
    return (await this.claimMany(orgId, integrationId, [{ deduplicationId, eventId }], randomUUID()))[0]!;
  }

  /**
   * Claims the deduplication ids of one request at once, under the request's `owner`: one insert for
   * all of them, and only for the ids someone holds already a look at the holder (a duplicate, a
   * concurrent request, or a dead one whose claim is taken over).
   */
  async claimMany(
    orgId: string,
    integrationId: string,
    items: Array<{ deduplicationId: string; eventId: string }>,
    owner: string,
  ): Promise<ClaimResult[]> {
    const now = new Date();
    const docs = items.map(({ deduplicationId, eventId }) =>
      this.fresh(`${orgId}:${integrationId}:${deduplicationId}`, orgId, integrationId, owner, eventId, now),
    );
    let held: Set<string>;
    try {
      held = new Set(await insertManyNew(this.docs, docs));
    } catch (err) {
      // Not known stored (a write concern error, a cut connection): what this request may hold is
      // released, so its retry is not kept waiting behind its own claims. Best effort.
      await this.releaseMany(docs.map((d) => ({ id: d._id, owner }))).catch(() => undefined);
      throw err;
    }
    return Promise.all(
      docs.map((doc) =>
        held.has(doc._id)
          ? this.claimHeld(doc, owner)
          : ({ kind: 'claimed', claim: { id: doc._id, owner } } as const),
      ),
    );
  }

  private fresh(
    id: string,
    orgId: string,
    integrationId: string,
    owner: string,
    eventId: string,
    now: Date,
  ): DedupeDoc {
    return {
      _id: id,
      org_id: orgId,
      integration_id: integrationId,
      state: 'pending',
      owner,
      claimed_at: now,
      expires_at: new Date(now.getTime() + this.settings.windowMs),
      event_id: eventId,
    };
  }

  /** An id somebody holds: a duplicate, a concurrent request (wait a little), or a dead or expired claim. */
  private async claimHeld(wanted: DedupeDoc, owner: string): Promise<ClaimResult> {
    const id = wanted._id;
    const deadline = Date.now() + this.settings.waitMs;
    for (;;) {
      const now = new Date();
      const fresh = {
        ...wanted,
        claimed_at: now,
        expires_at: new Date(now.getTime() + this.settings.windowMs),
      };
      const existing = await this.docs.findOne({ _id: id });
      if (!existing) {
        // Released meanwhile: try to take it.
        if ((await insertManyNew(this.docs, [fresh])).length === 0)
          return { kind: 'claimed', claim: { id, owner } };
        continue;
      }
      const expired = existing.expires_at.getTime() <= now.getTime();
      const stale =
        existing.state === 'pending' &&
        (existing.in_doubt === true ||
          now.getTime() - existing.claimed_at.getTime() > this.settings.staleAfterMs);
      const accepted = !expired && (existing.state === 'accepted' || (await this.isAccepted(existing)));
      if (expired || (stale && !accepted)) {
        // Take it over only if nobody else did in between (compare-and-set on the owner).
        // A stale pending claim keeps its event id (see ClaimResult); an expired one starts afresh.
        const previous = stale && !expired ? existing.event_id : undefined;
        const { _id: _ignored, ...replacement } = { ...fresh, event_id: previous ?? fresh.event_id };
        const taken = await this.docs.updateOne(
          { _id: id, owner: existing.owner },
          { $set: replacement, $unset: { in_doubt: '' } },
        );
        if (taken.modifiedCount === 1) {
          // An expired claim's acceptance expired with it (a marker of its own exists only from before
          // ADR 18; the new owner has none yet).
          if (expired) await this.accepted.deleteOne({ _id: id });
          return { kind: 'claimed', claim: { id, owner }, ...(previous ? { eventId: previous } : {}) };
        }
        continue;
      }
      if (accepted) return { kind: 'duplicate' };
      if (Date.now() >= deadline) return { kind: 'busy' };
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Its owner's request was accepted (or, from before ADR 18, the claim itself has a marker). */
  private async isAccepted(claim: DedupeDoc): Promise<boolean> {
    const now = Date.now();
    const markers = await this.accepted.find({ _id: { $in: [claim.owner, claim._id] } }).toArray();
    return markers.some((m) => m.expires_at.getTime() > now);
  }

  /**
   * Marks claims accepted (their events are on Kafka): later requests with the same ids are `skipped`.
   * One marker per owner (a request's claims share theirs).
   */
  async acceptMany(claims: Claim[]): Promise<void> {
    const expires = new Date(Date.now() + this.settings.windowMs);
    await insertManyNew(
      this.accepted,
      [...byOwner(claims).keys()].map((owner) => ({ _id: owner, expires_at: expires })),
    );
  }

  /** Removes the claims of a request whose hand-over failed, so a retry is never reported `skipped`. */
  async releaseMany(claims: Claim[]): Promise<void> {
    await Promise.all(
      [...byOwner(claims)].map(([owner, ids]) => this.docs.deleteMany({ _id: { $in: ids }, owner })),
    );
  }

  /**
   * Marks the claims of a request whose send failed with an unknown outcome: they keep their event ids,
   * and a retry takes them over at once instead of waiting for them to go stale (see `in_doubt`).
   */
  async markInDoubt(claims: Claim[]): Promise<void> {
    await Promise.all(
      [...byOwner(claims)].map(([owner, ids]) =>
        this.docs.updateMany({ _id: { $in: ids }, owner, state: 'pending' }, { $set: { in_doubt: true } }),
      ),
    );
  }
}

function byOwner(claims: Claim[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of claims) out.set(c.owner, [...(out.get(c.owner) ?? []), c.id]);
  return out;
}
