import { canonicalJson } from '@hub/contracts';

/**
 * How a mapped attribute is written against the stored entity (pure; MAPPING.md "Fields", "Relations"):
 * plain values replace, `{_set|_append|_append_all: [...]}` operate on the stored array, and resolved
 * relations / relation_refs are stored as `{"$relation": [...]}` / `{"$relation_ref": [...]}`.
 */

export const ARRAY_OPERATIONS = ['_set', '_append', '_append_all'] as const;
export type ArrayOperation = (typeof ARRAY_OPERATIONS)[number];

export interface RelationLink {
  entity_id: string;
  _schema: string;
  _tags: string[];
}

export interface RelationRefLink {
  entity_id: string;
  path: string;
  _id: string;
}

export type ResolvedAttribute =
  | { kind: 'value'; value: unknown }
  | { kind: 'array'; op: ArrayOperation; items: unknown[] }
  | { kind: 'relation'; op: ArrayOperation; items: RelationLink[] }
  | { kind: 'relation_ref'; op: ArrayOperation; items: RelationRefLink[] };

/** `{_set: [...]}` (exactly one operation key holding an array) as operation and items, else undefined. */
export function arrayOperationOf(value: unknown): { op: ArrayOperation; items: unknown[] } | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const op = keys[0] as ArrayOperation;
  const items = (value as Record<string, unknown>)[op];
  return ARRAY_OPERATIONS.includes(op) && Array.isArray(items) ? { op, items } : undefined;
}

/** Applies an array operation to the stored array (`isNew`: the entity is being created). */
export function applyArrayOperation<T>(
  stored: unknown,
  op: ArrayOperation,
  items: T[],
  isNew: boolean,
  identity: (item: T) => string = canonicalJson,
): T[] {
  if (op === '_set' || isNew || !Array.isArray(stored)) return [...items];
  const current = stored as T[];
  if (op === '_append_all') return [...current, ...items];
  const seen = new Set(current.map(identity));
  const out = [...current];
  for (const item of items) {
    const id = identity(item);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(item);
    }
  }
  return out;
}

/** The `$relation` / `$relation_ref` list stored in an attribute, or [] when it holds something else. */
function storedLinks(stored: unknown, marker: '$relation' | '$relation_ref'): unknown[] | undefined {
  if (!stored || typeof stored !== 'object') return undefined;
  const list = (stored as Record<string, unknown>)[marker];
  return Array.isArray(list) ? list : undefined;
}

/** The attribute values to `$set` on the entity (`current` undefined: it is being created). */
export function mergeAttributes(
  current: Record<string, unknown> | undefined,
  resolved: Record<string, ResolvedAttribute>,
): Record<string, unknown> {
  const isNew = current === undefined;
  const out: Record<string, unknown> = {};
  for (const [attribute, r] of Object.entries(resolved)) {
    const stored = current?.[attribute];
    switch (r.kind) {
      case 'value':
        out[attribute] = r.value;
        break;
      case 'array':
        out[attribute] = applyArrayOperation(stored, r.op, r.items, isNew);
        break;
      case 'relation':
        out[attribute] = {
          $relation: applyArrayOperation(
            storedLinks(stored, '$relation'),
            r.op,
            r.items,
            isNew,
            (l) => l.entity_id,
          ),
        };
        break;
      case 'relation_ref':
        out[attribute] = {
          $relation_ref: applyArrayOperation(
            storedLinks(stored, '$relation_ref'),
            r.op,
            r.items,
            isNew,
            (l) => `${l.entity_id}|${l.path}|${l._id}`,
          ),
        };
        break;
    }
  }
  return out;
}

/** Every entity id an entity links to through `$relation` / `$relation_ref` attributes. */
export function linkedEntityIds(entity: Record<string, unknown>): string[] {
  const ids = new Set<string>();
  for (const value of Object.values(entity)) {
    for (const marker of ['$relation', '$relation_ref'] as const) {
      for (const link of storedLinks(value, marker) ?? []) {
        const id = (link as { entity_id?: unknown }).entity_id;
        if (typeof id === 'string') ids.add(id);
      }
    }
  }
  return [...ids];
}

/** Deep equality of two repeatable-attribute items, ignoring their `_id`. */
export function equalIgnoringId(a: unknown, b: unknown): boolean {
  const strip = (v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const { _id, ...rest } = v as Record<string, unknown>;
    return rest;
  };
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}

/**
 * Upserts one relation_ref `value` into the stored repeatable attribute: an item deep-equal to it
 * (ignoring `_id`) keeps its `_id`; otherwise it is added with `newId` (`_set`: it becomes the only item;
 * `_append` / default: added when no equal item exists; `_append_all`: always added).
 */
export function upsertRefItem(
  stored: unknown,
  value: unknown,
  op: ArrayOperation | undefined,
  newId: string,
): { items: unknown[]; _id: string; changed: boolean } {
  const current = Array.isArray(stored) ? stored : [];
  const index = lastEqualIndex(current, value);
  const existing = index >= 0 ? (current[index] as Record<string, unknown>) : undefined;
  const base = value && typeof value === 'object' && !Array.isArray(value) ? value : { value };
  if (existing && typeof existing._id !== 'string' && op !== '_append_all') {
    // An equal item stored without an id (written by another mapping) gets one in place.
    const items = op === '_set' ? [{ ...existing, _id: newId }] : [...current];
    if (op !== '_set') items[index] = { ...existing, _id: newId };
    return { items, _id: newId, changed: true };
  }
  const existingId = existing?._id as string | undefined;
  if (op === '_set') {
    const _id = existingId ?? newId;
    const items = [{ ...base, _id }];
    return { items, _id, changed: canonicalJson(items) !== canonicalJson(current) };
  }
  if (existingId && op !== '_append_all') return { items: current, _id: existingId, changed: false };
  return { items: [...current, { ...base, _id: newId }], _id: newId, changed: true };
}

/** Index of the last stored item deep-equal to `value` ignoring `_id`, or -1. */
export function lastEqualIndex(items: unknown[], value: unknown): number {
  for (let i = items.length - 1; i >= 0; i--) if (equalIgnoringId(items[i], value)) return i;
  return -1;
}
