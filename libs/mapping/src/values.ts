import type { ArrayOperation } from './types.js';

export const ARRAY_OPERATIONS: readonly ArrayOperation[] = ['_set', '_append', '_append_all'];

/**
 * An array operation object: exactly one key, `_set` / `_append` / `_append_all`, holding an array.
 * Such values pass through to the writer unchanged (a plain array means replace).
 */
export function arrayOperationOf(
  value: unknown,
): { operation: ArrayOperation; items: unknown[] } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as ArrayOperation;
  if (!ARRAY_OPERATIONS.includes(key)) return undefined;
  const items = (value as Record<string, unknown>)[key];
  return Array.isArray(items) ? { operation: key, items } : undefined;
}

/**
 * `_type: email|phone`: a scalar becomes `[{ email: v }]`; arrays of scalars wrap each element; an
 * array operation (`{"_append": ["a@b"]}`) keeps its operation and wraps the elements inside it.
 */
export function wrapRepeatable(type: 'email' | 'phone', value: unknown, tags?: string[]): unknown {
  if (value === null) return null;
  const wrap = (v: unknown) =>
    v !== null && typeof v === 'object'
      ? v
      : { [type]: v, ...(tags && tags.length > 0 ? { _tags: tags } : {}) };
  const op = arrayOperationOf(value);
  if (op) return { [op.operation]: op.items.map(wrap) };
  return Array.isArray(value) ? value.map(wrap) : [wrap(value)];
}

export function truthy(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== '' && value !== 0;
}

/** A unique-id value that cannot identify anything: undefined, null, '', [] (or an operation on []). */
export function isEmpty(value: unknown): boolean {
  const op = arrayOperationOf(value);
  if (op) return op.items.length === 0;
  return (
    value === undefined ||
    value === null ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** A unique-id value as the writer matches it: an array operation contributes its elements. */
export function uniqueIdValue(value: unknown): unknown {
  const op = arrayOperationOf(value);
  return op ? op.items : value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
