// A retention sweep against the test stack's database (MONGO_URL), issue 22. On FerretDB (no TTL) the
// sweep must find the expired documents from the expiry index, never by reading the whole collection:
// every command it sends is watched on its way (the fault injector of libs/testing, forwarding only) and
// its filter explained by FerretDB itself (`explain`: SQLite's query plan). A plan that reads the table
// (`SCAN`) fails the test, whatever the time it took: it is what made every sweep cost all the stored
// history (and held SQLite's read snapshot, so its write-ahead log grew, for the whole scan). On MongoDB
// the sweep sends nothing (the TTL index expires documents) and the layout makes that TTL index.
import { createLogger } from '@hub/observability';
import { MongoFaultInjector, resolveStack, uniqueName } from '@hub/testing';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoStore, prepareLayout, removeExpired, SWEEP_BATCH, sweepMatching } from './index.js';

const stack = resolveStack();
let injector: MongoFaultInjector;
let store: MongoStore;

beforeAll(async () => {
  const url = new URL(stack.mongoUrl);
  injector = await MongoFaultInjector.start({ upstream: url.host });
  store = await MongoStore.connect({
    url: injector.url(uniqueName('hub_retention').replace('-', '_')),
    logger: createLogger({ service: 'retention-test', level: 'silent' }),
    appName: 'retention-test',
  });
});
afterAll(async () => {
  await store?.db.dropDatabase().catch(() => undefined);
  await store?.close();
  await injector?.close();
});

/** The filters of the reads and deletes the sweep sent to `collection`, as they crossed the wire. */
async function sweepFilters(
  collection: string,
  sweep: () => Promise<unknown>,
): Promise<Array<{ command: string; filter: Document; limit?: number }>> {
  const seen: Array<{ command: string; filter: Document; limit?: number }> = [];
  injector.onCommand = (c) => {
    if (c.collection !== collection || (c.command !== 'find' && c.command !== 'delete')) return;
    const { body, sequences } = c.message();
    if (c.command === 'find') {
      seen.push({ command: 'find', filter: body.filter ?? {}, limit: Number(body.limit) });
      return;
    }
    const statements = [
      ...((body.deletes as Document[] | undefined) ?? []),
      ...sequences.filter((s) => s.identifier === 'deletes').flatMap((s) => s.documents),
    ];
    for (const s of statements) seen.push({ command: 'delete', filter: s.q });
  };
  try {
    await sweep();
  } finally {
    injector.onCommand = undefined;
  }
  return seen;
}

/** SQLite's plan for a filter, from FerretDB's `explain` (the one a delete with it reads by, too). */
async function planOf(collection: string, filter: Document): Promise<string> {
  const res = await store.db.command({ explain: { find: collection, filter }, verbosity: 'queryPlanner' });
  return ((res.queryPlanner as { Plan?: string[] }).Plan ?? []).join('\n');
}

describe('the retention sweep', () => {
  it('on FerretDB deletes exactly the expired documents, in batches read from the expiry index, never scanning the collection', async (ctx) => {
    if (!store.isFerretDB) ctx.skip();
    await prepareLayout(store, ['dedupe'], 'apply');
    const now = Date.now();
    const col = store.db.collection<{ _id: string; expires_at: Date }>('dedupe');
    const expired = 2 * SWEEP_BATCH + 7;
    const live = 3 * SWEEP_BATCH; // the history a sweep must not read
    await col.insertMany(
      Array.from({ length: expired + live }, (_, i) => ({
        _id: `d${i}`,
        // Expired ones a minute to a day ago, the rest from a second to a day ahead, interleaved.
        expires_at: new Date(
          i % 2 === 0 && i / 2 < expired ? now - 60_000 - i * 1_000 : now + 1_000 + i * 1_000,
        ),
      })),
    );
    const expiredIds = (await col.find({ expires_at: { $lt: new Date(now) } }).toArray()).map((d) => d._id);
    expect(expiredIds).toHaveLength(expired);

    const sent = await sweepFilters('dedupe', async () => {
      expect(await removeExpired(store, ['dedupe'], new Date(now))).toEqual({ dedupe: expired });
    });

    // What a user would notice: the expired documents are gone, every other one is still there.
    expect(await col.countDocuments({ _id: { $in: expiredIds } })).toBe(0);
    expect(await col.countDocuments({})).toBe(live);

    // How: bounded reads, deletes by _id, each answered from an index.
    const reads = sent.filter((s) => s.command === 'find');
    expect(reads.length).toBeGreaterThanOrEqual(3);
    for (const r of reads) expect(r.limit).toBe(SWEEP_BATCH);
    expect(sent.filter((s) => s.command === 'delete').length).toBe(reads.length); // the last read was short
    for (const { command, filter } of sent) {
      const plan = await planOf('dedupe', filter);
      expect(plan, `${command} ${JSON.stringify(filter)}`).toMatch(/SEARCH \S+ USING INDEX/);
      expect(plan, `${command} ${JSON.stringify(filter)}`).not.toMatch(/\bSCAN\b/);
    }
  });

  it('purges entities soft-deleted before a cutoff (an ISO string) the same way, on either server', async () => {
    await prepareLayout(store, ['entities'], 'apply');
    const col = store.db.collection<{ _id: string; _deleted_at?: string }>('entities');
    const cutoff = '2026-11-06T00:00:00.000Z';
    const day = 86_400_000;
    await col.insertMany(
      Array.from({ length: 3 * SWEEP_BATCH }, (_, i) => ({
        _id: `e${i}`,
        // Every third soft-deleted long ago, every third recently, every third alive.
        ...(i % 3 === 2
          ? {}
          : {
              _deleted_at: new Date(
                Date.parse(cutoff) + ((i % 3 === 0 ? -1 : 1) * (1 + i) * day) / 100,
              ).toISOString(),
            }),
      })),
    );
    const sent = await sweepFilters('entities', async () => {
      expect(await sweepMatching(store, 'entities', { _deleted_at: { $lt: cutoff } })).toBe(SWEEP_BATCH);
    });
    expect(await col.countDocuments({})).toBe(2 * SWEEP_BATCH);
    expect(await col.countDocuments({ _deleted_at: { $lt: cutoff } })).toBe(0);
    if (!store.isFerretDB) return; // MongoDB: one deleteMany, from the deleted_at index
    expect(sent.filter((s) => s.command === 'find').length).toBe(2); // a full batch, then an empty read
    for (const { command, filter } of sent) {
      const plan = await planOf('entities', filter);
      expect(plan, `${command} ${JSON.stringify(filter)}`).toMatch(/SEARCH \S+ USING INDEX/);
      expect(plan, `${command} ${JSON.stringify(filter)}`).not.toMatch(/\bSCAN\b/);
    }
  });

  it('on MongoDB sends nothing: the layout’s TTL index expires documents', async (ctx) => {
    if (store.isFerretDB) ctx.skip();
    await prepareLayout(store, ['dedupe'], 'apply');
    const ttl = (await store.db.collection('dedupe').listIndexes().toArray()).find(
      (i) => i.name === 'expires_at',
    );
    expect(ttl?.expireAfterSeconds).toBe(0);
    const sent = await sweepFilters('dedupe', async () => {
      expect(await removeExpired(store, ['dedupe'])).toEqual({});
    });
    expect(sent).toEqual([]);
  });
});
