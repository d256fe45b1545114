import { PermanentError } from '@hub/kafka';
import { ARRAY_OPERATIONS, type ArrayOperation } from './attributes.js';
import { writableAttributes } from './lookup.js';

/** A relation item as the mapper writes it (libs/mapping README, "Relations"). */
export interface RelationItem {
  $entity_unique_ids: Record<string, unknown>;
  _schema: string;
  _tags?: string[];
}

/** A relation_ref item as the mapper writes it (libs/mapping README, "relation_refs"). */
export interface RelationRefItem extends RelationItem {
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

/** The items of a `$relation` attribute value, checked; undefined when the value is not a relation. */
export function relationItems(
  value: unknown,
  where: string,
): { op: ArrayOperation; items: RelationItem[] } | undefined {
  const relation = relationOperation(value, '$relation', where);
  return relation && { op: relation.op, items: relation.items as unknown as RelationItem[] };
}

/** The items of a `$relation_ref` attribute value, checked; undefined when the value is not one. */
export function relationRefItems(
  value: unknown,
  where: string,
): { op: ArrayOperation; items: RelationRefItem[] } | undefined {
  const relation = relationOperation(value, '$relation_ref', where);
  if (!relation) return undefined;
  const items = relation.items as unknown as RelationRefItem[];
  items.forEach((item, i) => {
    if (typeof item.path !== 'string' || item.value === undefined)
      throw invalid(`${where}[${i}]`, 'a relation_ref item needs "path" (string) and "value"');
  });
  return { op: relation.op, items };
}

/** Whether an update writes relation_refs (they change other entities first: applied one update at a time). */
export function hasRelationRefs(attributes: Record<string, unknown>): boolean {
  return Object.values(writableAttributes(attributes)).some((v) => isObject(v) && '$relation_ref' in v);
}
