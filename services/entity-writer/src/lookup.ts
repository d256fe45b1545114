import { canonicalJson } from '@hub/contracts';

/**
 * Upsert rules that need no database: which attributes a mapped update may write, and how a unique-id
 * value is matched (a `_type: email|phone` value `[{ email: v }]` matches on the nested `v`).
 */

/** Attributes owned by the store; a mapping cannot overwrite them. */
export const RESERVED_ATTRIBUTES = new Set([
  '_id',
  '_org',
  '_schema',
  '_hub',
  '_created_at',
  '_updated_at',
  '_deleted_at',
]);

export function writableAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines each key: an attribute named `__proto__` stays an attribute, never a prototype.
  return Object.fromEntries(
    Object.entries(attributes).filter(
      ([k]) => !RESERVED_ATTRIBUTES.has(k) && !k.includes('.') && !k.startsWith('$'),
    ),
  );
}

export type LookupCondition = { path: string; value: unknown };

/** The conditions that all must hold for an entity to match the unique ids (a composite key). */
export function lookupConditions(uniqueIds: Record<string, unknown>): LookupCondition[] {
  return Object.entries(uniqueIds).map(([attribute, value]) => {
    if (Array.isArray(value) && value.length > 0 && value[0] && typeof value[0] === 'object') {
      const item = value[0] as Record<string, unknown>;
      const nested = 'email' in item ? 'email' : 'phone' in item ? 'phone' : undefined;
      if (nested) return { path: `${attribute}.${nested}`, value: item[nested] };
    }
    return { path: attribute, value };
  });
}

/** Whether a stored entity has every one of the unique-id values (typed email/phone: any nested value). */
export function matchesUniqueIds(
  entity: Record<string, unknown>,
  uniqueIds: Record<string, unknown>,
): boolean {
  const conditions = lookupConditions(uniqueIds);
  return (
    conditions.length > 0 &&
    conditions.every(({ path, value }) => {
      const [attribute, nested] = path.split('.') as [string, string | undefined];
      const stored = entity[attribute];
      if (nested === undefined) return canonicalJson(stored) === canonicalJson(value);
      return (
        Array.isArray(stored) && stored.some((item) => (item as Record<string, unknown>)?.[nested] === value)
      );
    })
  );
}
