import { randomUUID } from 'node:crypto';
import { MongoStore, removeExpired } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DedupeSettings, DedupeStore } from './dedupe.js';

// The deduplication window's recovery paths against the real database: what a second request with the
// same deduplication id is told while the first is in progress, dead, expired or released.
describe('the deduplication window', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'dedupe-test', level: 'silent' });
  let store: MongoStore;
  const org = uniqueName('dedupe');
  const integration = randomUUID();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const dedupe = (settings: Partial<DedupeSettings> = {}) =>
    new DedupeStore(store, { windowMs: 3_600_000, staleAfterMs: 30_000, waitMs: 300, ...settings });
  const id = () => uniqueName('dd');

  beforeAll(async () => {
    store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'dedupe-test' });
  });
  afterAll(() => store?.close());

  it('answers busy while another request holds the id, and duplicate once it is accepted', async () => {
    const d = dedupe();
    const key = id();
    const first = await d.claim(org, integration, key, 'ev-1');
    expect(first.kind).toBe('claimed');
    expect((await d.claim(org, integration, key, 'ev-2')).kind).toBe('busy');
    if (first.kind === 'claimed') await d.acceptMany([first.claim]);
    expect((await d.claim(org, integration, key, 'ev-3')).kind).toBe('duplicate');
  });

  it('gives the id to a waiting request when the holder releases it in between', async () => {
    const d = dedupe({ waitMs: 5_000 });
    const key = id();
    const first = await d.claim(org, integration, key, 'ev-1');
    const waiting = d.claim(org, integration, key, 'ev-2');
    await sleep(300);
    if (first.kind === 'claimed') await d.releaseMany([first.claim]);
    // A fresh claim, under the waiting request's own event id (nothing of the released one was sent).
    expect(await waiting).toMatchObject({ kind: 'claimed' });
    expect(await waiting).not.toHaveProperty('eventId');
  });

  it('lets one of two concurrent requests take over a stale claim, and tells the other to retry', async () => {
    // Stale after 2 s: the winner's fresh claim stays far from stale while the others look again.
    const d = dedupe({ staleAfterMs: 2_000, waitMs: 300 });
    const key = id();
    await d.claim(org, integration, key, 'ev-dead');
    await sleep(2_200);
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => d.claim(org, integration, key, `ev-${i}`)),
    );
    const taken = outcomes.filter((o) => o.kind === 'claimed');
    expect(taken).toHaveLength(1);
    expect(taken[0]).toMatchObject({ eventId: 'ev-dead' });
    expect(outcomes.filter((o) => o.kind === 'busy')).toHaveLength(3);
  });

  it('starts an expired id afresh and forgets its old acceptance', async () => {
    const d = dedupe({ windowMs: 2_000, waitMs: 200 });
    const key = id();
    const first = await d.claim(org, integration, key, 'ev-old');
    await sleep(1_000);
    if (first.kind === 'claimed') await d.acceptMany([first.claim]); // the marker outlives the claim by 1 s
    await sleep(1_200);
    const again = await d.claim(org, integration, key, 'ev-new');
    expect(again).toMatchObject({ kind: 'claimed' });
    expect(again).not.toHaveProperty('eventId'); // an expired claim's event id is not reused
    // The new claim is in progress, not accepted: a third request must retry, never be told `skipped`.
    expect((await d.claim(org, integration, key, 'ev-third')).kind).toBe('busy');
  });

  it('sweeps expired claims and acceptance markers, and keeps the others', async () => {
    const short = dedupe({ windowMs: 100 });
    const expired = await short.claim(org, integration, id(), 'ev-expired');
    if (expired.kind === 'claimed') await short.acceptMany([expired.claim]);
    const kept = id();
    await dedupe().claim(org, integration, kept, 'ev-kept');
    await sleep(300);
    // The gateway's sweeper on FerretDB (a TTL index on MongoDB): libs/mongo's expiry of both collections.
    const removed = await removeExpired(store, ['dedupe', 'dedupe_accepted']);
    expect(removed.dedupe).toBeGreaterThanOrEqual(1);
    const left = await store
      .collection<{ _id: string }>('dedupe')
      .findOne({ _id: `${org}:${integration}:${kept}` });
    expect(left).not.toBeNull();
    if (expired.kind === 'claimed') {
      expect(await store.collection<{ _id: string }>('dedupe').findOne({ _id: expired.claim.id })).toBeNull();
      expect(
        await store.collection<{ _id: string }>('dedupe_accepted').findOne({ _id: expired.claim.owner }),
      ).toBeNull();
    }
  });

  it('accepts a request’s claims with one marker, and counts it for those claims only', async () => {
    const d = dedupe();
    const keys = [id(), id(), id()];
    const owner = randomUUID();
    const claims = await d.claimMany(
      org,
      integration,
      keys.map((k, i) => ({ deduplicationId: k, eventId: `ev-${i}` })),
      owner,
    );
    await d.acceptMany(claims.flatMap((c) => (c.kind === 'claimed' ? [c.claim] : [])));
    const markers = await store
      .collection<{ _id: string }>('dedupe_accepted')
      .find({ _id: { $in: [owner, ...keys.map((k) => `${org}:${integration}:${k}`)] } })
      .toArray();
    expect(markers.map((m) => m._id)).toEqual([owner]);
    for (const k of keys) expect((await d.claim(org, integration, k, 'ev-again')).kind).toBe('duplicate');
    // Another request's claim, held and not accepted, is not covered by it.
    const other = id();
    await d.claim(org, integration, other, 'ev-other');
    expect((await d.claim(org, integration, other, 'ev-other-2')).kind).toBe('busy');
  });

  it('still skips an id accepted by the version before ADR 18 (a marker per claim), within its window', async () => {
    // What that version left: the claim, pending, and a marker with the claim's own id.
    const key = id();
    const claimId = `${org}:${integration}:${key}`;
    const now = new Date();
    const expires = new Date(now.getTime() + 3_600_000);
    await store.collection('dedupe').insertOne({
      _id: claimId,
      org_id: org,
      integration_id: integration,
      state: 'pending',
      owner: randomUUID(),
      claimed_at: new Date(now.getTime() - 60_000), // stale: without the marker it would be taken over
      expires_at: expires,
      event_id: 'ev-before-upgrade',
    } as never);
    await store.collection('dedupe_accepted').insertOne({ _id: claimId, expires_at: expires } as never);
    expect((await dedupe().claim(org, integration, key, 'ev-after-upgrade')).kind).toBe('duplicate');
  });
});
