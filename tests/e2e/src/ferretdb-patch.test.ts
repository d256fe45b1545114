/**
 * The local stack's FerretDB carries our patch (deploy/local/ferretdb/ferretdb.patch, ADR 8). Each test
 * fails on an unpatched build: by-_id operations use the _id_ index, an `_id` condition is pushed down
 * whatever else the filter says, a bulk of 100+ update statements returns, concurrent updates of one
 * document do not lose each other, a date's or a string's `$lt` (the retention sweeps) is read from a plain index,
 * and a top-level string equality is tested in SQL. A row lacking a string the filter asks for is skipped
 * undecoded (change 9) without losing a match; every kind of write at once is answered (change 10). A bulk
 * of update statements (one SQLite transaction, change 8) gives the answers it gave one transaction per
 * statement. The cases of changes 8-10 guard answers, not speed: each failed on a wrong build of its
 * change (ADR 8 names the builds). On MongoDB (`HUB_INFRA=containers`) all of
 * it holds natively, so the plan assertions are skipped there.
 */
import { randomUUID } from 'node:crypto';
import { type Collection, MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
let store: MongoStore;
let isFerret = false;

beforeAll(async () => {
  store = await MongoStore.connect({
    url: stack.mongoUrl,
    database: `patch_${randomUUID().slice(0, 8)}`,
    logger: createLogger({ service: 'test', level: 'warn' }),
    appName: 'ferretdb-patch-test',
  });
  const info = await store.db.admin().command({ buildInfo: 1 });
  isFerret = 'ferretdbVersion' in info;
});
afterAll(async () => {
  await store?.db.dropDatabase();
  await store?.close();
});

async function filled(name: string, size = 300): Promise<Collection<{ _id: string; n: number; cn: string }>> {
  const col = store.collection<{ _id: string; n: number; cn: string }>(name);
  await col.insertMany(Array.from({ length: size }, (_, i) => ({ _id: `k${i}`, n: 0, cn: `C${i}` })));
  return col;
}

/** FerretDB's explain: SQLite's query plan lines and whether the filter was pushed down to SQL. */
async function plan(collection: string, filter: Record<string, unknown>) {
  const res = await store.db.command({ explain: { find: collection, filter }, verbosity: 'queryPlanner' });
  return {
    pushdown: res.filterPushdown as boolean,
    plan: ((res.queryPlanner as { Plan?: string[] }).Plan ?? []).join('\n'),
  };
}

describe('FerretDB, patched', () => {
  it('finds a document by _id through the _id_ index, not a scan of the table', async (ctx) => {
    if (!isFerret) ctx.skip();
    await filled('by_id');
    const byId = await plan('by_id', { _id: 'k7' });
    expect(byId.pushdown).toBe(true);
    expect(byId.plan).toMatch(/SEARCH .* USING INDEX/);
    expect(byId.plan).not.toMatch(/\bSCAN\b/);
  });

  it('pushes an _id condition down beside other conditions, and an _id $in list', async (ctx) => {
    if (!isFerret) ctx.skip();
    const col = await filled('mixed');
    for (const filter of [
      { _id: 'k7', n: 0 },
      { _id: { $in: ['k1', 'k2', 'k250'] } },
      { _id: 'k7', cn: { $ne: 'x' } },
    ]) {
      const explained = await plan('mixed', filter);
      expect(explained.pushdown, JSON.stringify(filter)).toBe(true);
      expect(explained.plan, JSON.stringify(filter)).toMatch(/SEARCH .* USING INDEX/);
    }
    // The rest of the filter still applies to what the index found.
    expect(await col.countDocuments({ _id: 'k7', n: 1 })).toBe(0);
    expect(
      (await col.find({ _id: { $in: ['k1', 'k2', 'nope'] } }).toArray()).map((d) => d._id).sort(),
    ).toEqual(['k1', 'k2']);
    // Lists of other types are not pushed down, and still answered.
    expect((await col.find({ _id: { $in: ['k1', 5] } } as never).toArray()).map((d) => d._id)).toEqual([
      'k1',
    ]);
  });

  it('answers a date’s $lt and $lte from a plain index, with the answers MongoDB gives (change 6)', async (ctx) => {
    const col = store.collection<{ _id: string; at?: unknown }>('by_date');
    await col.createIndex({ at: 1 }, { name: 'at' });
    const bound = Date.parse('2026-12-06T12:00:00Z');
    const docs: Array<{ _id: string; at?: unknown }> = [
      ...Array.from({ length: 200 }, (_, i) => ({ _id: `d${i}`, at: new Date(bound + (i - 100) * 60_000) })),
      { _id: 'epoch', at: new Date(5_000) }, // fewer digits than the bound
      { _id: 'before1970', at: new Date(-5_000) },
      { _id: 'array-old', at: [new Date(bound + 1e9), new Date(bound - 1e9)] }, // an element matches
      { _id: 'array-new', at: [new Date(bound + 1e9)] },
      { _id: 'number', at: 5 },
      { _id: 'string', at: '2000-01-01T00:00:00Z' },
      { _id: 'object', at: { d: new Date(0) } },
      { _id: 'null', at: null },
      { _id: 'missing' },
    ];
    await col.insertMany(docs);
    const ids = async (filter: Record<string, unknown>) =>
      (await col.find(filter as never).toArray()).map((d) => d._id).sort();
    const expected = (lte: boolean) =>
      docs
        .filter((d) =>
          (Array.isArray(d.at) ? d.at : [d.at]).some(
            (v) => v instanceof Date && (lte ? v.getTime() <= bound : v.getTime() < bound),
          ),
        )
        .map((d) => d._id)
        .sort();
    expect(await ids({ at: { $lt: new Date(bound) } })).toEqual(expected(false));
    expect(await ids({ at: { $lte: new Date(bound) } })).toEqual(expected(true));
    expect(expected(true)).toHaveLength(104); // d0-d100, epoch, before1970, array-old
    // Beside other conditions, and in a delete.
    expect(await ids({ at: { $lt: new Date(bound) }, _id: { $ne: 'epoch' } })).toHaveLength(102);
    expect((await col.deleteMany({ at: { $lt: new Date(bound - 50 * 60_000) } })).deletedCount).toBe(53);
    if (!isFerret) ctx.skip();
    for (const filter of [{ at: { $lt: new Date(bound) } }, { at: { $lte: new Date(bound) }, other: 1 }]) {
      const explained = await plan('by_date', filter);
      expect(explained.plan, JSON.stringify(filter)).toMatch(/SEARCH \S+ USING INDEX \S+_at /);
      expect(explained.plan, JSON.stringify(filter)).not.toMatch(/\bSCAN\b/);
    }
  });

  it('answers a string’s $lt (an ISO date stored as text) from a plain index, as MongoDB does (change 6)', async (ctx) => {
    const col = store.collection<{ _id: string; gone?: unknown }>('by_string');
    await col.createIndex({ gone: 1 }, { name: 'gone' });
    const bound = '2026-11-06T12:00:00.000Z';
    const docs: Array<{ _id: string; gone?: unknown }> = [
      ...Array.from({ length: 100 }, (_, i) => ({
        _id: `s${i}`,
        gone: new Date(Date.parse(bound) + (i - 50) * 3_600_000).toISOString(),
      })),
      { _id: 'short', gone: '2026' }, // a prefix sorts first
      { _id: 'unicode', gone: 'é' }, // after every ASCII string, as in UTF-8
      { _id: 'array-old', gone: ['2030-01-01', '2020-01-01'] },
      { _id: 'number', gone: 5 },
      { _id: 'date', gone: new Date(0) },
      { _id: 'object', gone: { at: '2020' } },
      { _id: 'live' },
    ];
    await col.insertMany(docs);
    const found = (await col.find({ gone: { $lt: bound } }).toArray()).map((d) => d._id).sort();
    const expected = docs
      .filter((d) =>
        (Array.isArray(d.gone) ? d.gone : [d.gone]).some((v) => typeof v === 'string' && v < bound),
      )
      .map((d) => d._id)
      .sort();
    expect(expected).toHaveLength(52); // s0-s49, short, array-old
    expect(found).toEqual(expected);
    if (!isFerret) ctx.skip();
    const explained = await plan('by_string', { gone: { $lt: bound } });
    expect(explained.plan).toMatch(/SEARCH \S+ USING INDEX \S+_gone /);
    expect(explained.plan).not.toMatch(/\bSCAN\b/);
  });

  it('tests a top-level string equality in SQL, with the answers MongoDB gives (change 7)', async (ctx) => {
    const col = store.collection<{ _id: string; org?: unknown; integration?: unknown }>('by_equality');
    const docs: Array<{ _id: string; org?: unknown; integration?: unknown }> = [
      ...Array.from({ length: 60 }, (_, i) => ({ _id: `u${i}`, org: `o${i % 3}`, integration: `i${i % 4}` })),
      { _id: 'array', org: ['o9', 'o1'], integration: 'i1' }, // an element matches
      { _id: 'array-other', org: ['o9'], integration: 'i1' },
      { _id: 'nested', org: { id: 'o1' }, integration: 'i1' },
      { _id: 'number', org: 1, integration: 'i1' },
      { _id: 'quote', org: "o'1", integration: 'i1' },
      { _id: 'escaped', org: 'o1\u0000"x', integration: 'i1' },
      { _id: 'missing', integration: 'i1' },
    ];
    await col.insertMany(docs);
    const ids = async (filter: Record<string, unknown>) =>
      (await col.find(filter as never).toArray()).map((d) => d._id).sort();
    const expected = (org: string, integration?: string) =>
      docs
        .filter(
          (d) =>
            (Array.isArray(d.org) ? d.org : [d.org]).includes(org) &&
            (integration === undefined || d.integration === integration),
        )
        .map((d) => d._id)
        .sort();
    expect(await ids({ org: 'o1' })).toEqual(expected('o1'));
    expect(await ids({ org: 'o1', integration: 'i1' })).toEqual(expected('o1', 'i1'));
    expect(await ids({ org: "o'1" })).toEqual(['quote']);
    expect(await ids({ org: 'o1\u0000"x' })).toEqual(['escaped']);
    expect(expected('o1', 'i1')).toEqual(['array', 'u1', 'u13', 'u25', 'u37', 'u49']);
    // Beside a condition SQL does not test, and in a delete.
    expect(await ids({ org: 'o1', integration: { $ne: 'i1' } })).toHaveLength(15);
    expect((await col.deleteMany({ org: 'o2', integration: 'i2' })).deletedCount).toBe(5);
    if (!isFerret) ctx.skip();
    expect((await plan('by_equality', { org: 'o1', integration: 'i1' })).pushdown).toBe(true);
    expect((await plan('by_equality', { org: { $eq: 'o1' } })).pushdown).toBe(false); // an operator: not pushed
  });

  it('finds strings JSON escapes, alone and in arrays, at the top level and in $and (change 9)', async () => {
    // Change 9 skips a row whose JSON text lacks the JSON text of a string the filter asks for: a
    // string encoded otherwise than FerretDB stores it would lose matches.
    const odd = [
      '<a&b>',
      'é ü 漢',
      'line\u2028sep',
      'tab\tnew\nline',
      'quote"',
      'back\\slash',
      'c\u0001',
      '',
    ];
    type Doc = { _id: string; tags?: unknown; owner?: unknown; a?: unknown; kind: string };
    const col = store.collection<Doc>('by_needle');
    const docs: Doc[] = [
      ...odd.map((s, i) => ({ _id: `s${i}`, owner: s, kind: 'scalar' })),
      ...odd.map((s, i) => ({ _id: `t${i}`, tags: ['x', s], kind: 'array' })),
      ...odd.map((s, i) => ({ _id: `p${i}`, a: [{ b: s }], kind: 'path' })),
      ...Array.from({ length: 40 }, (_, i) => ({
        _id: `n${i}`,
        tags: ['x', `y${i}`],
        owner: `w${i}`,
        kind: 'other',
      })),
    ];
    await col.insertMany(docs);
    const ids = async (filter: Record<string, unknown>) =>
      (await col.find(filter as never).toArray()).map((d) => d._id).sort();
    for (const [i, s] of odd.entries()) {
      expect(await ids({ owner: s }), JSON.stringify(s)).toEqual([`s${i}`]);
      expect(await ids({ $and: [{ tags: s }, { kind: 'array' }] }), JSON.stringify(s)).toEqual([`t${i}`]);
      expect(await ids({ 'a.b': s }), JSON.stringify(s)).toEqual([`p${i}`]);
      expect(await col.countDocuments({ $and: [{ _id: `t${i}` }, { tags: s }] } as never)).toBe(1);
      const matched = await col
        .aggregate([{ $match: { $and: [{ kind: 'scalar' }, { owner: s }] } }])
        .toArray();
      expect(matched.map((d) => d._id)).toEqual([`s${i}`]);
    }
    expect(await ids({ $and: [{ tags: 'x' }, { kind: 'array' }] })).toHaveLength(odd.length);
    expect(await ids({ tags: 'y7', owner: 'w7' })).toEqual(['n7']);
    expect(await ids({ tags: 'y7', owner: 'w8' })).toEqual([]);
    expect((await col.deleteMany({ $and: [{ kind: 'other' }, { tags: 'y3' }] })).deletedCount).toBe(1);
  });

  it('answers a bulk of 100 and of 500 update statements (upstream never answered 100)', async () => {
    const col = await filled('bulk', 600);
    for (const size of [100, 500]) {
      const ops = Array.from({ length: size }, (_, i) => ({
        updateOne: { filter: { _id: `k${i}` }, update: { $set: { n: size } }, upsert: true },
      }));
      const outcome = await Promise.race([
        col.bulkWrite(ops).then((r) => r.matchedCount),
        new Promise((resolve) => setTimeout(() => resolve('no answer within 30 s'), 30_000)),
      ]);
      expect(outcome, `bulk of ${size}`).toBe(size);
    }
    expect(await col.countDocuments({ n: 500 })).toBe(500);
  }, 70_000);

  it('applies concurrent updates of one document one at a time: no lost $inc, one compare-and-set winner', async () => {
    const col = await filled('atomic', 1);
    await Promise.all(Array.from({ length: 60 }, () => col.updateOne({ _id: 'k0' }, { $inc: { n: 1 } })));
    expect((await col.findOne({ _id: 'k0' }))?.n).toBe(60);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => col.updateOne({ _id: 'k0', n: 60 }, { $set: { n: 100 + i } })),
    );
    expect(results.reduce((sum, r) => sum + r.modifiedCount, 0)).toBe(1);
  });

  it('runs a bulk in order, and stops at a failing statement with the ones before it applied (change 8)', async () => {
    const col = await filled('bulk_order', 5);
    await col.createIndex({ cn: 1 }, { unique: true });
    const done = await col.bulkWrite([
      { updateOne: { filter: { _id: 'k0' }, update: { $inc: { n: 1 } } } },
      { updateOne: { filter: { _id: 'k0' }, update: { $inc: { n: 10 } } } },
      { updateOne: { filter: { _id: 'new1' }, update: { $set: { n: 7, cn: 'N1' } }, upsert: true } },
      { updateOne: { filter: { _id: 'new1' }, update: { $inc: { n: 1 } } } },
    ]);
    expect([done.matchedCount, done.upsertedCount]).toEqual([3, 1]);
    expect((await col.findOne({ _id: 'k0' }))?.n).toBe(11); // the second statement saw the first's write
    expect((await col.findOne({ _id: 'new1' }))?.n).toBe(8);

    // The third statement inserts a second `cn: 'C1'`: the unique index refuses it. The statements before it
    // stay applied, the one after it is not run, as MongoDB does with an ordered bulk.
    const failed = await col
      .bulkWrite([
        { updateOne: { filter: { _id: 'k2' }, update: { $set: { n: 2 } } } },
        { updateOne: { filter: { _id: 'k3' }, update: { $set: { n: 3 } } } },
        { updateOne: { filter: { _id: 'dup' }, update: { $set: { cn: 'C1' } }, upsert: true } },
        { updateOne: { filter: { _id: 'k4' }, update: { $set: { n: 4 } } } },
      ])
      .then(
        () => 'accepted',
        (err: { code?: number }) => err.code,
      );
    expect(failed).toBe(11000);
    const after = await col.find({ _id: { $in: ['k2', 'k3', 'k4', 'dup'] } }).toArray();
    expect(Object.fromEntries(after.map((d) => [d._id, d.n]))).toEqual({ k2: 2, k3: 3, k4: 0 });
  });

  it('loses no update of concurrent bulks, beside findAndModify and a createIndexes (change 8)', async () => {
    const col = await filled('bulk_concurrent', 20);
    const bulks = Array.from({ length: 10 }, () =>
      col.bulkWrite(
        Array.from({ length: 20 }, (_, i) => ({
          updateOne: { filter: { _id: `k${i}` }, update: { $inc: { n: 1 } } },
        })),
      ),
    );
    const single = Array.from({ length: 10 }, () => col.findOneAndUpdate({ _id: 'k0' }, { $inc: { n: 1 } }));
    const index = col.createIndex({ n: 1, cn: 1 });
    const outcome = await Promise.race([
      Promise.all([...bulks, ...single, index]).then(() => 'all answered'),
      new Promise((resolve) => setTimeout(() => resolve('no answer within 30 s'), 30_000)),
    ]);
    expect(outcome).toBe('all answered');
    const counts = Object.fromEntries((await col.find({}).toArray()).map((d) => [d._id, d.n]));
    expect(counts).toEqual(
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i === 0 ? 20 : 10])),
    );
    expect((await col.indexes()).map((i) => i.name)).toContain('n_1_cn_1');
  }, 40_000);

  it('answers every kind of write at once on one database, each exactly once (change 10)', async () => {
    // Change 10 queues the document writes of a database on a lock of its own: a path that never frees it
    // makes every later write wait 10 s and fail "database is locked" (a build whose batch kept it after
    // COMMIT failed here). A batch that met it would only fall back to one statement at a time.
    const a = await filled('writes_a', 20);
    const b = store.collection<{ _id: string; n: number; cn: string }>('writes_b');
    const work = [
      ...Array.from({ length: 6 }, () =>
        a.bulkWrite(
          Array.from({ length: 20 }, (_, i) => ({
            updateOne: { filter: { _id: `k${i}` }, update: { $inc: { n: 1 } } },
          })),
        ),
      ),
      ...Array.from({ length: 6 }, (_, j) =>
        b.bulkWrite(
          Array.from({ length: 10 }, (_, i) => ({
            updateOne: { filter: { _id: `u${j}-${i}` }, update: { $set: { n: i, cn: 'up' } }, upsert: true },
          })),
        ),
      ),
      ...Array.from({ length: 6 }, (_, j) =>
        b.insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: `i${j}-${i}`, n: i, cn: 'ins' }))),
      ),
      ...Array.from({ length: 6 }, () => a.findOneAndUpdate({ _id: 'k1' }, { $inc: { n: 100 } })),
      a
        .insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: `gone${i}`, n: 0, cn: 'gone' })))
        .then(() => a.deleteMany({ cn: 'gone' })),
    ];
    await Promise.all(work); // a write that waited 10 s for the lock would fail here
    const inA = Object.fromEntries((await a.find({}).toArray()).map((d) => [d._id, d.n]));
    expect(inA).toEqual(
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i === 1 ? 606 : 6])),
    );
    expect(await b.countDocuments({ cn: 'up' })).toBe(60);
    expect(await b.countDocuments({ cn: 'ins' })).toBe(60);
  }, 40_000);
});
