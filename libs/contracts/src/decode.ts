import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';

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
  if (value === null) throw new MessageSchemaError(topic, ['empty message value']);
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new MessageSchemaError(topic, [`not JSON: ${(err as Error).message}`]);
  }
  const problems = [...Value.Errors(schema, parsed)]
    .slice(0, 10)
    .map((e) => `${e.instancePath || '/'} ${e.message}`);
  if (problems.length > 0) throw new MessageSchemaError(topic, problems);
  return parsed as Static<S>;
}
