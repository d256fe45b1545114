import type { Document } from 'mongodb';
import { type LayoutServer, layoutFor } from './layout.js';
import { DATABASE_PLAN } from './plan.js';

/**
 * Whether the queries a service sends have an index in MongoDB's layout (issue 22: "unindexed filters made
 * independent of history, on FerretDB and MongoDB alike"). No MongoDB server runs here and FerretDB answers
 * no query from a secondary index (docs/adr/0008), so tests capture the commands a repository really sends
 * (through `MongoCountingProxy`'s `onCommand`, @hub/testing) and hold each one's filter against the plan:
 * a query is served when its filter constrains `_id` or the first field of one of the collection's
 * planned indexes. That is the shape of the plan, not MongoDB's planner (which picks among the indexes that
 * qualify, and may still sort in memory); what it catches is a filter no index can start from, a scan of a
 * collection that grows with history.
 */

/** The MongoDB the coverage is checked for: the production floor's newest layout (plan.ts `since`). */
export const MONGODB_7: LayoutServer = { kind: 'mongodb', version: '7.0', release: [7, 0] };

/** A query as sent: the command, its collection and the filter that selects the documents it reads or writes. */
export interface SentQuery {
  command: string;
  collection: string;
  filter: Document;
}

/** Conditions an index's bounds can start from (`$ne`, `$nin`, `$not`, `$exists`, `$regex` cannot, or not usefully). */
const BOUNDING = new Set(['$eq', '$in', '$gt', '$gte', '$lt', '$lte', '$elemMatch', '$all']);

function bounds(condition: unknown): boolean {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) return true;
  if (condition instanceof Date) return true;
  const keys = Object.keys(condition);
  // An object without operators is an equality on a whole sub-document (or a BSON value: ObjectId, Long...).
  if (!keys.some((k) => k.startsWith('$'))) return true;
  return keys.some((k) => BOUNDING.has(k));
}

/**
 * The fields a filter constrains in a way an index can start from: at the top level and inside `$and`;
 * under `$or` only the fields every branch constrains.
 */
export function constrainedFields(filter: Document): Set<string> {
  const out = new Set<string>();
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value as Document[]) for (const f of constrainedFields(part)) out.add(f);
    } else if (key === '$or' && Array.isArray(value) && value.length > 0) {
      const branches = (value as Document[]).map(constrainedFields);
      for (const f of branches[0]!) if (branches.every((b) => b.has(f))) out.add(f);
    } else if (!key.startsWith('$') && bounds(value)) {
      out.add(key);
    }
  }
  return out;
}

/**
 * The planned indexes (and `_id_`) a filter can start from on `server`, best first: by how many of the
 * index's leading fields the filter bounds (`_id_` first when `_id` is bounded: one document or a few).
 */
export function servingIndexes(
  collection: string,
  filter: Document,
  server: LayoutServer = MONGODB_7,
): string[] {
  const [layout] = layoutFor(server, [collection]);
  const fields = constrainedFields(filter);
  const scored: Array<{ name: string; prefix: number }> = [];
  for (const index of layout?.indexes ?? []) {
    let prefix = 0;
    for (const field of Object.keys(index.key)) {
      if (!fields.has(field)) break;
      prefix++;
    }
    if (prefix > 0) scored.push({ name: index.name, prefix });
  }
  scored.sort((a, b) => b.prefix - a.prefix);
  return [...(fields.has('_id') ? ['_id_'] : []), ...scored.map((s) => s.name)];
}

/**
 * The queries of a command as the server receives it (`body` is its kind 0 section, `sequences` its
 * kind 1 sections by identifier: the driver sends an update's or delete's statements there). Commands
 * that select no documents (insert, getMore, index and admin commands) have none; so has a `find` of any
 * one document (an empty filter with `limit: 1`), which reads one document whatever the collection holds.
 */
export function queriesOf(body: Document, sequences: Record<string, Document[]> = {}): SentQuery[] {
  const command = Object.keys(body)[0];
  const collection = command === undefined ? undefined : body[command];
  if (command === undefined || typeof collection !== 'string') return [];
  const statements = (field: string) => [
    ...((body[field] as Document[] | undefined) ?? []),
    ...(sequences[field] ?? []),
  ];
  const one = (filter: unknown): SentQuery => ({ command, collection, filter: (filter as Document) ?? {} });
  switch (command) {
    case 'find': {
      const filter = (body.filter as Document | undefined) ?? {};
      if (Object.keys(filter).length === 0 && Math.abs(Number(body.limit ?? 0)) === 1) return [];
      return [one(filter)];
    }
    case 'aggregate': {
      const first = (body.pipeline as Document[] | undefined)?.[0];
      return [one(first && '$match' in first ? first.$match : {})];
    }
    case 'count':
    case 'distinct':
      return [one(body.query)];
    case 'findAndModify':
    case 'findandmodify':
      return [one(body.query)];
    case 'update':
    case 'delete':
      return statements(command === 'update' ? 'updates' : 'deletes').map((s) => one(s.q));
    default:
      return [];
  }
}

/** The queries among `sent` that no planned index (nor `_id`) serves on `server`, of planned collections. */
export function unservedQueries(sent: readonly SentQuery[], server: LayoutServer = MONGODB_7): SentQuery[] {
  const planned = new Set(DATABASE_PLAN.map((p) => p.collection));
  return sent.filter(
    (q) => planned.has(q.collection) && servingIndexes(q.collection, q.filter, server).length === 0,
  );
}
