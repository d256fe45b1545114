import { JSONPathEnvironment, JSONPathError, type JSONPathQuery } from 'json-p3';

/**
 * A mapping `field`: a plain key (`customerId`, looked up literally, dots included), or a JSONPath when it
 * starts with `$` (RFC 9535, through json-p3: `$.address.street`, `$.items[0].id`, `$.E1KNVVM[*].VKORG`,
 * `$..id`, `$.items[?@.type=='x'].id`, `$.items[-1]`, `$.items[1:3]`). `$$` instead of `$` starts at the
 * root payload rather than the current element (an extension: RFC 9535 has no `$$`).
 *
 * What a path yields: no node, `undefined` (the attribute is left out); one node, its value; several nodes,
 * an array of their values in the order RFC 9535 gives them.
 *
 * Paths that RFC 9535 refuses but the earlier subset read (a dotted name that is not an RFC shorthand name,
 * as `$.Customer.@_id` for an XML attribute or `$.items.0`) are read as before: each dotted name selects that
 * member, and a name of digits the element at that index of an array.
 */
export type FieldPath = (current: unknown, root: unknown) => unknown;

export class FieldPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldPathError';
  }
}

/** Strict RFC 9535 (the library's default): standard function extensions only. */
const environment = new JSONPathEnvironment();

/**
 * Compiles a `field` once (per compiled mapping); the function it returns reads it from an element.
 * Throws FieldPathError, naming the path, when the path is not valid JSONPath.
 */
export function compileFieldPath(field: string): FieldPath {
  if (!field.startsWith('$')) return (current) => getOwn(current, field);
  const fromRoot = field.startsWith('$$');
  const query = compileQuery(fromRoot ? field.slice(1) : field, field);
  return (current, root) => {
    const value = fromRoot ? root : current;
    if (value === undefined) return undefined;
    const values = query.query(value as never).values();
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  };
}

/** `compileFieldPath(field)(current, root)`: for a one-off read; a mapping compiles its paths once. */
export function resolveField(field: string, current: unknown, root: unknown): unknown {
  return compileFieldPath(field)(current, root);
}

function compileQuery(path: string, whole: string): JSONPathQuery {
  try {
    return environment.compile(path);
  } catch (err) {
    if (!(err instanceof JSONPathError)) throw err;
    const legacy = legacyPath(path);
    if (legacy !== undefined) {
      try {
        return environment.compile(legacy);
      } catch {
        // reported below with the library's own message for the path as written
      }
    }
    throw new FieldPathError(`invalid JSONPath ${whole}: ${err.message}`);
  }
}

/** A plain key: an own member of an object, or (digits) an element of an array. */
function getOwn(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return /^\d+$/.test(key) ? value[Number(key)] : undefined;
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * The earlier subset (`$` then `.name`, `[digits]`, `['name']`, `["name"]`), written as the RFC 9535 path
 * that selects the same: `$.Customer.@_id` -> `$['Customer']['@_id']`, `$.items.0` -> `$['items']['0',0]`
 * (the member "0" of an object, the first element of an array). Undefined when it is not of that subset.
 */
function legacyPath(path: string): string | undefined {
  const rest = path.slice(1);
  let out = '$';
  let i = 0;
  while (i < rest.length) {
    const tail = rest.slice(i);
    const dotted = /^\.([^.[\]]+)/.exec(tail);
    const bracket = /^\[(?:(\d+)|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\]/.exec(tail);
    if (dotted) {
      const name = dotted[1]!;
      const index = Number(name);
      out +=
        /^\d+$/.test(name) && Number.isSafeInteger(index) ? `[${quote(name)},${index}]` : `[${quote(name)}]`;
      i += dotted[0].length;
    } else if (bracket) {
      out += bracket[1] !== undefined ? `[${Number(bracket[1])}]` : `[${quote((bracket[2] ?? bracket[3])!)}]`;
      i += bracket[0].length;
    } else {
      return undefined;
    }
  }
  return out;
}

/** A name as an RFC 9535 string literal (its escapes are JSON's). */
const quote = (name: string) => JSON.stringify(name);
