/**
 * What an entity update may name and carry (issue 10): attribute names that can never reach a database
 * filter or overwrite the store's own fields, and unique-id values that are plain values, never query
 * operators. The mapping checks them when a configuration is saved and when an event is mapped; the
 * writer checks them again on every message it reads, so nothing else on the topic can get past them.
 */

/** Fields of a stored entity that belong to the store; a mapping can neither write nor match them. */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  '_id',
  '_org',
  '_schema',
  '_hub',
  '_created_at',
  '_updated_at',
  '_deleted_at',
]);

/**
 * Why `name` cannot be an attribute name (to follow the quoted name), or `undefined` when it can. `_id` is reserved too; where a
 * configuration may name an entity by its id (`unique_ids: ["_id"]` alone) the caller allows it.
 */
export function attributeNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.startsWith('$')) return 'must not start with "$" (a database operator)';
  if (name.includes('.')) return 'must not contain "." (a nested path)';
  if (name.includes('\u0000')) return 'must not contain the NUL character';
  if (RESERVED_ATTRIBUTES.has(name)) return 'is reserved for the entity store';
  return undefined;
}

const isScalar = (v: unknown) =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** `[{ email: v }]` / `[{ phone: v }]` items, as a `_type: email|phone` field produces them. */
const isTypedItem = (v: unknown) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const item = v as Record<string, unknown>;
  const keys = Object.keys(item).filter((k) => k !== '_tags');
  return (
    keys.length === 1 &&
    (keys[0] === 'email' || keys[0] === 'phone') &&
    isScalar(item[keys[0]]) &&
    (item._tags === undefined ||
      (Array.isArray(item._tags) && item._tags.every((t) => typeof t === 'string')))
  );
};

/**
 * Why `value` cannot be a unique-id (or prune-scope) value, or `undefined` when it can: a string, a
 * finite number or a boolean, a non-empty array of those, or the `[{ email | phone: value }]` form of a
 * typed attribute. Objects (such as `{"$ne": null}`) would be query operators and are refused.
 */
export function uniqueIdValueProblem(value: unknown): string | undefined {
  if (isScalar(value)) return undefined;
  if (Array.isArray(value) && value.length > 0) {
    if (value.every(isScalar) || value.every(isTypedItem)) return undefined;
    return 'must be an array of plain values (strings, numbers, booleans) or of {email|phone: value} items';
  }
  const got = value === null ? 'null' : Array.isArray(value) ? 'an empty array' : typeof value;
  return `must be a string, number, boolean or an array of them, not ${got === 'object' ? 'an object' : got}`;
}
