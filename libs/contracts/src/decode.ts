import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';

/** A message on a topic does not match its schema: never retried, dead-lettered. */
export class MessageSchemaError extends Error {
  readonly code = 'MESSAGE_SCHEMA_INVALID';
  constructor(
    readonly topic: string,
    readonly problems: string[],
  ) {
    super(`message on ${topic} does not match its schema: ${problems.join('; ')}`);
    this.name = 'MessageSchemaError';
  }
}

/** Parses and validates a message value at the edge of a consumer. */
export function decodeMessage<S extends TSchema>(
  topic: string,
  schema: S,
  value: Buffer | string | null,
): Static<S> {
  return checkMessage(topic, schema, parseMessage(topic, value));
}

/** A message value parsed as JSON (not yet checked against its schema). */
export function parseMessage(topic: string, value: Buffer | string | null): unknown {
  if (value === null) throw new MessageSchemaError(topic, ['empty message value']);
  try {
    return JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new MessageSchemaError(topic, [`not JSON: ${(err as Error).message}`]);
  }
}

/** A parsed message value checked against its schema. */
export function checkMessage<S extends TSchema>(topic: string, schema: S, parsed: unknown): Static<S> {
  const validator = validatorOf(schema);
  if (validator.Check(parsed)) return parsed as Static<S>;
  const problems = [...validator.Errors(parsed)]
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message}`);
  throw new MessageSchemaError(topic, problems);
}

/** Each schema compiled once (≈100× faster than checking it dynamically for every message). */
const validators = new WeakMap<TSchema, Validator>();
function validatorOf(schema: TSchema): Validator {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema) as Validator;
    validators.set(schema, validator);
  }
  return validator;
}
