/**
 * The topics' contract holds for what the pipeline really writes (issue 21): every message read from
 * `erp.entities.processed` and `erp.dead-letters` for this test's events (a create, an update, a delete, a
 * mapping failure and a writer failure) validates, headers, key and payload, against its channel's
 * schemas in the document the edge serves at /asyncapi.json.
 */
import type { IncomingMessage } from '@hub/kafka';
import {
  apiClient,
  collectTopic,
  eventually,
  resolveStack,
  type TopicCollector,
  testToken,
  uniqueName,
} from '@hub/testing';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();

interface Channel {
  address: string;
  messages: Record<string, { $ref: string }>;
}
interface Message {
  headers: object;
  payload: object;
  bindings: { kafka: { key: object } };
}
interface AsyncApi {
  asyncapi: string;
  channels: Record<string, Channel>;
  components: { messages: Record<string, Message> };
}

/** The headers, key and payload validators of the one message of the channel at `address`. */
function validatorsOf(doc: AsyncApi, address: string) {
  const channel = Object.values(doc.channels).find((c) => c.address === address);
  if (!channel) throw new Error(`/asyncapi.json has no channel for ${address}`);
  const [ref] = Object.values(channel.messages).map((m) => m.$ref);
  const message = doc.components.messages[ref!.replace('#/components/messages/', '')]!;
  const ajv = new Ajv({ allErrors: true, strict: false });
  return {
    headers: ajv.compile(message.headers),
    key: ajv.compile(message.bindings.kafka.key),
    payload: ajv.compile(message.payload),
  };
}

/** Every schema violation of one message, as `<topic>@<offset> <part>: <errors>` lines. */
function violations(
  v: { headers: ValidateFunction; key: ValidateFunction; payload: ValidateFunction },
  m: IncomingMessage,
): string[] {
  const out: string[] = [];
  const check = (part: string, validate: ValidateFunction, data: unknown) => {
    if (!validate(data)) out.push(`${m.topic}@${m.offset} ${part}: ${JSON.stringify(validate.errors)}`);
  };
  check('headers', v.headers, m.headers);
  check('key', v.key, m.key);
  check('payload', v.payload, m.value ? JSON.parse(m.value.toString('utf8')) : null);
  return out;
}

let processed: TopicCollector;
let deadLetters: TopicCollector;
beforeAll(async () => {
  processed = await collectTopic(stack.kafkaBrokers, 'erp.entities.processed');
  deadLetters = await collectTopic(stack.kafkaBrokers, 'erp.dead-letters');
});
afterAll(async () => {
  await processed?.stop();
  await deadLetters?.stop();
});

describe('the topics the pipeline writes, against /asyncapi.json', () => {
  it('validates every processed entity (created, updated, deleted) and every dead letter (mapper, writer)', async () => {
    const res = await fetch(`${stack.baseUrl}/asyncapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as AsyncApi;
    expect(doc.asyncapi).toBe('3.0.0');
    const processedSchemas = validatorsOf(doc, 'erp.entities.processed');
    const deadLetterSchemas = validatorsOf(doc, 'erp.dead-letters');

    const org = uniqueName('asyncapi');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const contact = (mode: string) => ({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          mode,
          fields: [
            { attribute: 'customer_number', field: 'customerId' },
            { attribute: 'email', field: 'email', _type: 'email' },
          ],
        },
      ],
    });
    const created = await api.request<{ id: string }>('POST', '/v2/integrations', {
      name: 'asyncapi',
      use_cases: [
        { name: 'customer', type: 'inbound', enabled: true, configuration: contact('upsert') },
        { name: 'customer-removed', type: 'inbound', enabled: true, configuration: contact('delete') },
        {
          name: 'direct',
          type: 'inbound',
          enabled: true,
          configuration: {
            entities: [
              {
                entity_schema: 'contact',
                unique_ids: ['_id'],
                fields: [
                  { attribute: '_id', field: 'id' },
                  { attribute: 'first_name', field: 'name' },
                ],
              },
            ],
          },
        },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // One request at a time, so the create, the update and the delete of C-1 arrive in this order.
    const send = async (objectType: string, payload: unknown) => {
      const r = await api.request<{ results: Array<{ status: string; event_id: string }> }>(
        'POST',
        '/v2/erp/updates/events',
        {
          integration_id: created.body.id,
          events: [
            {
              event_type: 'UPDATE',
              object_type: objectType,
              timestamp: new Date().toISOString(),
              format: 'json',
              payload: JSON.stringify(payload),
            },
          ],
        },
      );
      expect(r.body.results?.[0]?.status, JSON.stringify(r.body)).toBe('success');
      return r.body.results[0]!.event_id;
    };
    await send('customer', { customerId: 'C-1', email: 'c1@example.com' });
    await send('customer', { customerId: 'C-1', email: 'c1.new@example.com' });
    await send('customer-removed', { customerId: 'C-1' });
    const unmappable = await send('customer', { email: 'nobody@example.com' }); // no unique id: the mapper
    const missing = await send('direct', { id: 'no-such-entity', name: 'Ghost' }); // no such entity: the writer

    const ours = (m: IncomingMessage) => m.headers['x-org-id'] === org;
    const mine = await eventually(
      async () => {
        const p = processed.messages.filter(ours);
        const d = deadLetters.messages.filter(ours);
        return p.length >= 3 && d.length >= 2 ? { p, d } : undefined;
      },
      60_000,
      'three processed messages and two dead letters',
    );
    const actions = mine.p.map((m) => JSON.parse(m.value!.toString('utf8')).action);
    expect(actions).toEqual(['created', 'updated', 'deleted']);
    const deadEvents = mine.d.map((m) => {
      const value = JSON.parse(m.value!.toString('utf8'));
      return [value.service, value.event_id, value.error.code];
    });
    expect(deadEvents).toEqual(
      expect.arrayContaining([
        ['mapper', unmappable, 'UNIQUE_ID_MISSING'],
        ['entity-writer', missing, 'ENTITY_NOT_FOUND'],
      ]),
    );

    expect([
      ...mine.p.flatMap((m) => violations(processedSchemas, m)),
      ...mine.d.flatMap((m) => violations(deadLetterSchemas, m)),
    ]).toEqual([]);
  }, 90_000);
});
