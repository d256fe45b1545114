/**
 * Log lines carry no values of the data flowing through the hub (issue 19, item 10): an error's message
 * may quote a unique id (`contact {"email":"ada@example.com"}`), a database's duplicate key
 * (`dup key: { k: "…" }`) or a payload value, and logs are read by people and systems that may not see the
 * organisations' data. What stays: codes, names of fields, the shape of the message, and the stack frames.
 */

const REDACTED = '<redacted>';

/** A JSON or JavaScript literal value: a quoted string, a number, true, false, null. */
const LITERAL = String.raw`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?\d[\w.:+-]*|true|false|null`;
/** `"name": value` or `name: value` (JSON, MongoDB's `dup key: { email: "…" }`): the name stays. */
const KEYED = new RegExp(
  String.raw`((?:"[^"\\\n]{1,100}"|'[^'\\\n]{1,100}'|[\w$.-]{1,100})\s*:\s*)(?:${LITERAL})`,
  'g',
);
/** A quoted string anywhere else (`value "C001" must be a number`). */
const QUOTED = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g;
/** Words after which a quoted string names a field, not a value (`unique id "email" has no value`). */
const NAMING =
  /(?:attribute|field|unique id|key|property|path|schema|column|collection|index|topic|header|option|setting)s?\s*$/i;
/** A host and port: an IPv4 address or `localhost`, a colon, a port. */
const ADDRESS = /^(?:\d{1,3}(?:\.\d{1,3}){3}|localhost):\d{1,5}$/;
const EMAIL = /[^\s"'<>(){}[\],;:]+@[^\s"'<>(){}[\],;:]+\.[A-Za-z]{2,}/g;

/** `text` with every value it quotes replaced by `<redacted>`; names of fields and codes stay. */
export function redactValues(text: string): string {
  let out = text.replace(/(dup key:?\s*).*$/s, `$1${REDACTED}`);
  out = out.replace(KEYED, (whole: string, name: string) =>
    // An address (`127.0.0.1:9092`, `localhost:27017`) is the infrastructure's, not a value of the data.
    ADDRESS.test(whole) ? whole : `${name}${REDACTED}`,
  );
  out = out.replace(QUOTED, (quoted: string, offset: number, whole: string) => {
    if (quoted.slice(1, -1) === REDACTED) return quoted;
    const name = /^["'][\w$.-]{1,64}["']$/.test(quoted);
    // A name: a key (`"email":`) or after a word that says so (`unique id "email"`).
    const key = /^\s*:/.test(whole.slice(offset + quoted.length));
    const named = NAMING.test(whole.slice(Math.max(0, offset - 24), offset));
    return name && (key || named) ? quoted : `"${REDACTED}"`;
  });
  return out.replace(EMAIL, REDACTED);
}

/** The properties of an error that say what went wrong without carrying data (kafkajs, MongoDB, ours). */
const SAFE_PROPS = ['code', 'codeName', 'type', 'category', 'retriable', 'errorLabels'] as const;

/**
 * pino's `err` serializer: the error's type, name, message and stack with values redacted, a few coded
 * properties, and its causes the same way. Anything else an error carries (a driver's `keyValue`, a
 * client's request) is left out: it may hold values.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) {
    return { message: redactValues(String(err)) };
  }
  const e = err as Error & Record<string, unknown>;
  const message = redactValues(String(e.message ?? ''));
  const out: Record<string, unknown> = {
    type: e.constructor?.name ?? 'Error',
    message,
  };
  if (typeof e.name === 'string' && e.name !== out.type) out.name = e.name;
  for (const prop of SAFE_PROPS) {
    const v = e[prop];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[prop] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[prop] = v;
  }
  if (typeof e.stack === 'string') {
    // The stack's first lines repeat the message: only the frames are kept after the redacted one.
    const frames = e.stack.split('\n').filter((line) => /^\s+at /.test(line));
    out.stack = [`${e.name ?? 'Error'}: ${message}`, ...frames].join('\n');
  }
  const cause = e.cause ?? e.originalError;
  if (cause !== undefined && depth < 4) out.cause = serializeError(cause, depth + 1);
  return out;
}
