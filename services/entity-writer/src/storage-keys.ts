/**
 * MongoDB/FerretDB refuse document keys that start with `$`, but stored attributes hold `$relation` and
 * `$relation_ref`. Keys matching /^_*\$/ are stored with one more leading `_` and read back without it:
 * a bijection, so any key survives the round trip.
 */
const ESCAPED = /^_*\$/;

export function encodeKeys<T>(value: T): T {
  return transform(value, (k) => (ESCAPED.test(k) ? `_${k}` : k)) as T;
}

export function decodeKeys<T>(value: T): T {
  return transform(value, (k) => (k.startsWith('_') && ESCAPED.test(k) ? k.slice(1) : k)) as T;
}

function transform(value: unknown, key: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => transform(v, key));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[key(k)] = transform(v, key);
    return out;
  }
  return value;
}
