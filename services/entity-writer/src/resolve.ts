import { PermanentError } from '@hub/kafka';
import {
  ARRAY_OPERATIONS,
  type ArrayOperation,
  arrayOperationOf,
  type RelationLink,
  type RelationRefLink,
  type ResolvedAttribute,
} from './attributes.js';
import { writableAttributes } from './lookup.js';
import type { Provenance } from './outbox.js';
import type { CreatedTarget, EntityRef, EntityRefs } from './refs.js';

/** A relation item as the mapper writes it (libs/mapping README, "Relations"). */
interface RelationItem {
  $entity_unique_ids: Record<string, unknown>;
  _schema: string;
  _tags?: string[];
}

/** A relation_ref item as the mapper writes it (libs/mapping README, "relation_refs"). */
interface RelationRefItem extends RelationItem {
  path: string;
  value: unknown;
  value_operation?: ArrayOperation;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  !!v && typeof v === 'object' && !Array.isArray(v);

function invalid(where: string, message: string): PermanentError {
  return new PermanentError('RELATION_INVALID', 'validation', `${where}: ${message}`);
}

/** `{"$relation": {"_set": [...]}}` → operation and items, checked; undefined when not a relation. */
function relationOperation(
  value: unknown,
  marker: '$relation' | '$relation_ref',
  where: string,
): { op: ArrayOperation; items: Record<string, unknown>[] } | undefined {
  if (!isObject(value) || !(marker in value)) return undefined;
  const inner = value[marker];
  const entries = isObject(inner) ? Object.entries(inner) : [];
  const [op, items] = entries[0] ?? [];
  if (entries.length !== 1 || !ARRAY_OPERATIONS.includes(op as ArrayOperation) || !Array.isArray(items)) {
    throw invalid(where, `${marker} must be {"_set"|"_append"|"_append_all": [items]}`);
  }
  items.forEach((item, i) => {
    if (!isObject(item) || !isObject(item.$entity_unique_ids) || typeof item._schema !== 'string') {
      throw invalid(`${where}[${i}]`, 'an item needs "$entity_unique_ids" (object) and "_schema" (string)');
    }
  });
  return { op: op as ArrayOperation, items: items as Record<string, unknown>[] };
}

const refOf = (item: RelationItem): EntityRef => ({
  schema: item._schema,
  uniqueIds: item.$entity_unique_ids,
});

/**
 * Resolves the mapped attributes of an upsert against other entities: relation items become entity
 * ids (missing targets are created from their unique ids first, all or nothing per attribute), and
 * relation_ref values are upserted into their target before the link is stored.
 */
export async function resolveAttributes(
  refs: EntityRefs,
  update: Provenance & { entity_schema: string; attributes: Record<string, unknown> },
  traceHeaders: Record<string, string>,
  created?: CreatedTarget[],
): Promise<Record<string, ResolvedAttribute>> {
  const out: Record<string, ResolvedAttribute> = {};
  for (const [attribute, value] of Object.entries(writableAttributes(update.attributes))) {
    const where = `${update.entity_schema}.${attribute}`;
    const relation = relationOperation(value, '$relation', where);
    if (relation) {
      const items = relation.items as unknown as RelationItem[];
      const docs = await refs.findOrCreateAll(update, items.map(refOf), where, traceHeaders, created);
      const links: RelationLink[] = docs.map((doc, i) => ({
        entity_id: doc._id,
        _schema: items[i]!._schema,
        _tags: Array.isArray(items[i]!._tags) ? items[i]!._tags! : [],
      }));
      out[attribute] = { kind: 'relation', op: relation.op, items: links };
      continue;
    }
    const relationRef = relationOperation(value, '$relation_ref', where);
    if (relationRef) {
      const items = relationRef.items as unknown as RelationRefItem[];
      items.forEach((item, i) => {
        if (typeof item.path !== 'string' || item.value === undefined)
          throw invalid(`${where}[${i}]`, 'a relation_ref item needs "path" (string) and "value"');
      });
      const targets = await refs.findOrCreateAll(update, items.map(refOf), where, traceHeaders, created);
      const links: RelationRefLink[] = [];
      for (const [i, item] of items.entries()) {
        const _id = await refs.upsertRefValue(
          update,
          targets[i]!,
          refOf(item),
          item.path,
          item.value,
          item.value_operation,
          `${update.update_id}|${where}|ref${i}`,
          traceHeaders,
        );
        links.push({ entity_id: targets[i]!._id, path: item.path, _id });
      }
      out[attribute] = { kind: 'relation_ref', op: relationRef.op, items: links };
      continue;
    }
    const operation = arrayOperationOf(value);
    out[attribute] = operation ? { kind: 'array', ...operation } : { kind: 'value', value };
  }
  return out;
}
