/**
 * Resolves a mapping `field`: a plain key (`customerId`, looked up literally, dots included), or a
 * JSONPath when it starts with `$` (`$.address.street`, `$.items[0].id`, `$['odd key']`); `$$` starts
 * at the root payload instead of the current element.
 */
export function resolveField(field: string, current: unknown, root: unknown): unknown {
  if (!field.startsWith('$')) return getKey(current, field);
  const fromRoot = field.startsWith('$$');
  let value: unknown = fromRoot ? root : current;
  for (const segment of parsePath(field.slice(fromRoot ? 2 : 1), field)) {
    value = getKey(value, segment);
    if (value === undefined) return undefined;
  }
  return value;
}

function getKey(value: unknown, key: string | number): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    const index = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : Number.NaN;
    return Number.isNaN(index) ? undefined : value[index];
  }
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[String(key)] : undefined;
}

export class FieldPathError extends Error {}

function parsePath(rest: string, whole: string): Array<string | number> {
  const segments: Array<string | number> = [];
  let i = 0;
  while (i < rest.length) {
    const ch = rest[i];
    if (ch === '.') {
      const m = /^\.([^.[\]]+)/.exec(rest.slice(i));
      if (!m) throw new FieldPathError(`invalid JSONPath ${whole}: empty segment at ${i + 1}`);
      segments.push(m[1]!);
      i += m[0].length;
    } else if (ch === '[') {
      const m = /^\[(?:(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(rest.slice(i));
      if (!m) throw new FieldPathError(`invalid JSONPath ${whole}: bad bracket at ${i + 1}`);
      segments.push(m[1] !== undefined ? Number(m[1]) : (m[2] ?? m[3])!);
      i += m[0].length;
    } else {
      throw new FieldPathError(`invalid JSONPath ${whole}: unexpected "${ch}" at ${i + 1}`);
    }
  }
  return segments;
}
