import type { Logger } from '@hub/observability';
import { type Document, type IndexDescription, MongoServerError } from 'mongodb';
import type { MongoStore } from './index.js';
import { type CollectionPlan, DATABASE_PLAN, type PlannedIndex } from './plan.js';

/**
 * The database layout as an explicit step (docs/adr/0014): every collection's indexes and TTL held against
 * the plan (plan.ts) in the flavour the server takes, MongoDB (the whole plan) or FerretDB (its unique
 * indexes, and the indexes its sweeps read, plain). `checkLayout` names every difference; `applyLayout` converts what MongoDB can convert in
 * place (`collMod`: a TTL's `expireAfterSeconds`, a hidden index) and drops and rebuilds the rest.
 */

/** The server a layout is planned for: FerretDB, or MongoDB of a version (major, minor). */
export type LayoutServer =
  | { kind: 'ferretdb'; version: string }
  | { kind: 'mongodb'; version: string; release: readonly [number, number] };

/** An index as it is made: a planned index with the version's choice made. */
export interface IndexSpec {
  name: string;
  key: Record<string, 1 | -1>;
  unique?: true;
  expireAfterSeconds?: number;
  wildcardProjection?: Record<string, 0 | 1>;
  serves: string;
}

/** One collection's layout on one server: the indexes it must have, and ours it must not (with why). */
export interface CollectionLayout {
  collection: string;
  indexes: IndexSpec[];
  unwanted: Map<string, string>;
}

/** An index as `listIndexes` describes it. */
export interface ExistingIndex {
  name: string;
  key: Record<string, unknown>;
  unique?: boolean;
  expireAfterSeconds?: number;
  hidden?: boolean;
  wildcardProjection?: Record<string, unknown>;
}

export type LayoutFix =
  | { kind: 'create'; index: IndexSpec }
  | { kind: 'drop'; name: string }
  | { kind: 'collMod'; index: { name: string; expireAfterSeconds?: number; hidden?: false } }
  | { kind: 'recreate'; drop: string; index: IndexSpec };

/** One way a collection differs from its plan, and what `--apply` does about it. */
export interface LayoutDifference {
  collection: string;
  index: string;
  problem: string;
  fix: LayoutFix;
}

export interface LayoutReport {
  server: LayoutServer;
  layouts: CollectionLayout[];
  differences: LayoutDifference[];
  /** Indexes the plan does not know (someone else's): listed, never dropped. */
  unknown: Array<{ collection: string; index: string }>;
}

const atLeast = (release: readonly [number, number], since: readonly [number, number]) =>
  release[0] > since[0] || (release[0] === since[0] && release[1] >= since[1]);

const spec = (index: Omit<PlannedIndex, 'since' | 'fallback'>): IndexSpec => {
  const { name, key, unique, expireAfterSeconds, wildcardProjection, serves } = index;
  return {
    name,
    key,
    serves,
    ...(unique ? { unique } : {}),
    ...(expireAfterSeconds !== undefined ? { expireAfterSeconds } : {}),
    ...(wildcardProjection ? { wildcardProjection } : {}),
  };
};

/** The plan of `collections` (every collection when not given) on `server`. */
export function layoutFor(
  server: LayoutServer,
  collections?: readonly string[],
  plan: readonly CollectionPlan[] = DATABASE_PLAN,
): CollectionLayout[] {
  const unknown = (collections ?? []).filter((c) => !plan.some((p) => p.collection === c));
  if (unknown.length > 0) throw new Error(`no layout planned for collection(s) ${unknown.join(', ')}`);
  return plan
    .filter((p) => !collections || collections.includes(p.collection))
    .map((p) => {
      const unwanted = new Map<string, string>(
        (p.retired ?? []).map((name) => [name, 'an earlier layout’s index, no longer used']),
      );
      const indexes: IndexSpec[] = [];
      for (const index of p.indexes) {
        if (server.kind === 'ferretdb') {
          if (index.unique) indexes.push(spec(index));
          else if (index.expireAfterSeconds !== undefined || index.sweep) {
            // No TTL on FerretDB: the swept field's index, plain, from which the patched FerretDB
            // answers the sweep's `$lt` (retention.ts, the writer's purge; docs/adr/0017).
            const { expireAfterSeconds: _ttl, ...plain } = index;
            indexes.push(
              spec({ ...plain, serves: `${index.serves}; on FerretDB the sweep’s range, no TTL` }),
            );
          } else {
            const why = 'not made on FerretDB, which answers no query from a secondary index';
            for (const name of [index.name, index.fallback?.name]) if (name) unwanted.set(name, why);
          }
          continue;
        }
        const chosen = index.since && !atLeast(server.release, index.since) ? index.fallback : index;
        if (chosen) indexes.push(spec(chosen));
        for (const other of [index, index.fallback]) {
          if (other && other !== chosen) {
            unwanted.set(
              other.name,
              chosen ? `replaced by ${chosen.name} on MongoDB ${server.version}` : 'not for this version',
            );
          }
        }
      }
      return { collection: p.collection, indexes, unwanted };
    });
}

const sameEntries = (a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined) => {
  const norm = (o: Record<string, unknown> | undefined) =>
    JSON.stringify(Object.entries(o ?? {}).map(([k, v]) => [k, typeof v === 'number' ? v : Number(v)]));
  return norm(a) === norm(b);
};

/**
 * A wildcard projection in a comparable form: sorted, and without an explicit `_id: 0` (a wildcard index
 * leaves `_id` out anyway, and a server may state it).
 */
const sortedEntries = (o: Record<string, unknown> | undefined) =>
  Object.fromEntries(
    Object.entries(o ?? {})
      .filter(([k, v]) => !(k === '_id' && !Number(v)))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );

const show = (o: Record<string, unknown> | undefined) => JSON.stringify(o ?? {});

/**
 * Every way one collection's indexes differ from its layout (pure: `existing` is what `listIndexes`
 * answered). A planned index that is missing is created; one whose TTL differs or that is hidden is
 * converted in place (`collMod`); one whose key, uniqueness or projection differs is dropped and rebuilt; an
 * unwanted index of ours is dropped. Indexes the plan does not know are returned apart and left alone.
 */
export function diffCollection(
  layout: CollectionLayout,
  existing: readonly ExistingIndex[],
): { differences: LayoutDifference[]; unknown: string[] } {
  const { collection } = layout;
  const byName = new Map(existing.filter((e) => e.name !== '_id_').map((e) => [e.name, e]));
  const planned = new Set(layout.indexes.map((i) => i.name));
  const consumed = new Set<string>();
  const differences: LayoutDifference[] = [];
  for (const index of layout.indexes) {
    const found = byName.get(index.name);
    if (!found) {
      // The same key under another name: MongoDB refuses a second index on it (error 85), so rebuild.
      const twin = [...byName.values()].find(
        (e) => !planned.has(e.name) && !consumed.has(e.name) && sameEntries(e.key, index.key),
      );
      if (twin) consumed.add(twin.name);
      differences.push({
        collection,
        index: index.name,
        problem: twin ? `missing (its key is indexed as ${twin.name})` : 'missing',
        fix: twin ? { kind: 'recreate', drop: twin.name, index } : { kind: 'create', index },
      });
      continue;
    }
    const rebuild: string[] = [];
    if (!sameEntries(found.key, index.key))
      rebuild.push(`key ${show(found.key)}, planned ${show(index.key)}`);
    if (Boolean(found.unique) !== Boolean(index.unique)) {
      rebuild.push(index.unique ? 'not unique, planned unique' : 'unique, planned not unique');
    }
    if (
      (found.wildcardProjection || index.wildcardProjection) &&
      !sameEntries(sortedEntries(found.wildcardProjection), sortedEntries(index.wildcardProjection))
    ) {
      rebuild.push(
        `wildcardProjection ${show(found.wildcardProjection)}, planned ${show(index.wildcardProjection)}`,
      );
    }
    const convert: string[] = [];
    if (index.expireAfterSeconds === undefined && found.expireAfterSeconds !== undefined) {
      rebuild.push(`expires documents (expireAfterSeconds ${found.expireAfterSeconds}), planned no expiry`);
    } else if (
      index.expireAfterSeconds !== undefined &&
      found.expireAfterSeconds !== index.expireAfterSeconds
    ) {
      convert.push(
        `${found.expireAfterSeconds === undefined ? 'no TTL' : `expireAfterSeconds ${found.expireAfterSeconds}`}, planned expireAfterSeconds ${index.expireAfterSeconds}`,
      );
    }
    if (found.hidden) convert.push('hidden, planned visible');
    if (rebuild.length > 0) {
      differences.push({
        collection,
        index: index.name,
        problem: [...rebuild, ...convert].join('; '),
        fix: { kind: 'recreate', drop: found.name, index },
      });
    } else if (convert.length > 0) {
      differences.push({
        collection,
        index: index.name,
        problem: convert.join('; '),
        fix: {
          kind: 'collMod',
          index: {
            name: index.name,
            ...(index.expireAfterSeconds !== undefined &&
            found.expireAfterSeconds !== index.expireAfterSeconds
              ? { expireAfterSeconds: index.expireAfterSeconds }
              : {}),
            ...(found.hidden ? { hidden: false as const } : {}),
          },
        },
      });
    }
  }
  const unknown: string[] = [];
  for (const name of byName.keys()) {
    if (planned.has(name) || consumed.has(name)) continue;
    const why = layout.unwanted.get(name);
    if (why) differences.push({ collection, index: name, problem: why, fix: { kind: 'drop', name } });
    else unknown.push(name);
  }
  return { differences, unknown };
}

/** What `--apply` does about a difference, in words. */
export function fixDescription(fix: LayoutFix): string {
  switch (fix.kind) {
    case 'create':
      return 'create';
    case 'drop':
      return 'drop';
    case 'collMod':
      return 'convert in place (collMod)';
    case 'recreate':
      return fix.drop === fix.index.name ? 'drop and rebuild' : `drop ${fix.drop}, build ${fix.index.name}`;
  }
}

/** One line per difference: `<collection>.<index>: <problem> (<what --apply does>)`. */
export const describeDifference = (d: LayoutDifference) =>
  `${d.collection}.${d.index}: ${d.problem} (--apply: ${fixDescription(d.fix)})`;

/** The server behind the store: FerretDB, or MongoDB and its version. */
export async function layoutServer(store: MongoStore): Promise<LayoutServer> {
  const info = await store.db.admin().command({ buildInfo: 1 });
  if (store.isFerretDB) {
    // An embedded FerretDB (the local stack's build) knows no version of its own: it says `unknown`.
    const version = String(info.ferretdbVersion ?? '');
    return { kind: 'ferretdb', version: version === 'unknown' ? '' : version };
  }
  const [major = 0, minor = 0] = (info.versionArray as number[] | undefined) ?? [];
  return { kind: 'mongodb', version: String(info.version), release: [major, minor] };
}

/** A collection's indexes; none when the collection does not exist yet. */
async function existingIndexes(store: MongoStore, collection: string): Promise<ExistingIndex[]> {
  try {
    return (await store.db.collection(collection).listIndexes().toArray()) as ExistingIndex[];
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 26) return []; // NamespaceNotFound
    throw err;
  }
}

/** Every difference between the database and the plan of `collections` (every collection when not given). */
export async function checkLayout(store: MongoStore, collections?: readonly string[]): Promise<LayoutReport> {
  const server = await layoutServer(store);
  const layouts = layoutFor(server, collections);
  const report: LayoutReport = { server, layouts, differences: [], unknown: [] };
  for (const layout of layouts) {
    const { differences, unknown } = diffCollection(layout, await existingIndexes(store, layout.collection));
    report.differences.push(...differences);
    report.unknown.push(...unknown.map((index) => ({ collection: layout.collection, index })));
  }
  return report;
}

const description = (index: IndexSpec): IndexDescription => {
  const { serves: _serves, ...rest } = index;
  return rest as IndexDescription;
};

async function dropIndex(store: MongoStore, collection: string, name: string): Promise<void> {
  try {
    await store.db.collection(collection).dropIndex(name);
  } catch (err) {
    // Dropped meanwhile (another instance applying the same layout): done.
    if (!(err instanceof MongoServerError && (err.code === 27 || err.code === 26))) throw err;
  }
}

async function applyFix(store: MongoStore, collection: string, fix: LayoutFix): Promise<void> {
  const col = store.db.collection(collection);
  switch (fix.kind) {
    case 'drop':
      return dropIndex(store, collection, fix.name);
    case 'collMod':
      await store.db.command({ collMod: collection, index: fix.index } as Document);
      return;
    case 'recreate':
      await dropIndex(store, collection, fix.drop);
      await col.createIndexes([description(fix.index)]);
      return;
    case 'create':
      // One index per command: FerretDB 1.24 drops the connection on a `createIndexes` naming several
      // indexes that exist already (docs/adr/0002).
      await col.createIndexes([description(fix.index)]);
      return;
  }
}

/**
 * Makes the database as planned: drops first (an unwanted index may hold a key a planned one needs), then
 * the conversions, then the builds (on MongoDB online: reads and writes go on meanwhile). Resolves with
 * the check after it, empty when everything is as planned.
 */
export async function applyLayout(
  store: MongoStore,
  collections?: readonly string[],
  onFix: (d: LayoutDifference) => void = () => undefined,
): Promise<LayoutReport> {
  const before = await checkLayout(store, collections);
  const order = { drop: 0, collMod: 1, recreate: 2, create: 3 } as const;
  const planned = [...before.differences].sort((a, b) => order[a.fix.kind] - order[b.fix.kind]);
  for (const d of planned) {
    onFix(d);
    await applyFix(store, d.collection, d.fix);
  }
  return checkLayout(store, collections);
}

/** `DB_LAYOUT`: at start-up, `apply` the plan (local stack, compose) or only `check` it (production). */
export type LayoutMode = 'apply' | 'check';

export class LayoutNotReadyError extends Error {
  constructor(readonly differences: LayoutDifference[]) {
    super(
      `database layout not as planned (run \`npm run db -- --apply\` or the layout job):\n${differences
        .map((d) => `  - ${describeDifference(d)}`)
        .join('\n')}`,
    );
    this.name = 'LayoutNotReadyError';
  }
}

/**
 * At a service's start-up: the collections it owns, made as planned (`apply`) or only checked (`check`:
 * throws LayoutNotReadyError naming every difference, and the service refuses to start, as for topics).
 * `check` only lists indexes, so it never waits for an index build.
 */
export async function prepareLayout(
  store: MongoStore,
  collections: readonly string[],
  mode: LayoutMode,
  logger?: Logger,
): Promise<void> {
  const report =
    mode === 'apply'
      ? await applyLayout(store, collections, (d) =>
          logger?.info(
            { collection: d.collection, index: d.index, problem: d.problem, fix: d.fix.kind },
            'database layout: applying',
          ),
        )
      : await checkLayout(store, collections);
  if (report.differences.length > 0) throw new LayoutNotReadyError(report.differences);
}
