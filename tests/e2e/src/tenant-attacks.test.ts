/**
 * Issue 10, the two critical items, on the real stack with two organisations: a use case cannot name the
 * store's own fields (`_org`, `_id`, ...) or operators as attributes, a mapped value cannot be a query
 * operator, and the entity search refuses operators and our bookkeeping. Each attack leaves the victim's
 * entity (and the attacker's own) exactly as it was.
 */
import { randomUUID } from 'node:crypto';
import { type DeadLetterMessage, entityKey, Headers, Topics } from '@hub/contracts';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import {
  type ApiClient,
  apiClient,
  collectTopic,
  eventually,
  orgWithUseCase,
  resolveStack,
  type TopicCollector,
  testToken,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
let deadLetters: TopicCollector;

beforeAll(async () => {
  deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
});
afterAll(async () => {
  await deadLetters?.stop();
});

const contactFields = [
  { attribute: 'customer_number', field: 'customerId' },
  { attribute: 'first_name', field: 'firstName' },
];

const orgWithContacts = (prefix: string, entities: Array<Record<string, unknown>>) =>
  orgWithUseCase(stack, prefix, { entities });

const contacts = async (api: ApiClient) =>
  (await api.request<{ results: Array<Record<string, unknown>> }>('GET', '/v1/entity/contact')).body.results;

async function contactWritten(api: ApiClient, customerNumber: string) {
  return eventually(
    async () => (await contacts(api)).find((c) => c.customer_number === customerNumber),
    30_000,
    `contact ${customerNumber}`,
  );
}

/** The event's monitoring record with `code`, once the pipeline has written it. */
async function recordOf(api: ApiClient, integrationId: string, eventId: string, code: string) {
  return eventually(
    async () => {
      const res = await api.request<{
        monitoring_events: Array<{ stage: string; code: string; message: string }>;
      }>('GET', `/v2/integrations/${integrationId}/monitoring/events/${eventId}/associated`);
      return res.body.monitoring_events.find((r) => r.code === code);
    },
    30_000,
    `the ${code} record of ${eventId}`,
  );
}

describe('a use case cannot reach another organisation’s entities', () => {
  it('refuses reserved, operator and dotted attribute names when the configuration is saved (400 naming the path)', async () => {
    const victim = await orgWithContacts('victim', [
      { entity_schema: 'contact', unique_ids: ['customer_number'], fields: contactFields },
    ]);
    const attacker = apiClient(stack.baseUrl, testToken(stack, uniqueName('attacker')));
    const integration = await attacker.request<{ id: string }>('POST', '/v2/integrations', { name: 'a' });
    const attack = {
      name: 'purge-them',
      type: 'inbound',
      enabled: true,
      configuration: {
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['_org', 'customer_number'],
            mode: 'purge',
            fields: [
              { attribute: '_org', constant: victim.org },
              { attribute: 'customer_number', field: 'customerId' },
              { attribute: '$where', constant: 'sleep(100)' },
              { attribute: 'address.city', constant: 'x' },
            ],
          },
        ],
      },
    };
    const v1 = await attacker.request<{ code: string; message: string }>(
      'POST',
      `/v1/integrations/${integration.body.id}/use-cases`,
      attack,
    );
    expect(v1.status).toBe(400);
    for (const path of [
      'configuration.entities[0].unique_ids[0]',
      'configuration.entities[0].fields[0].attribute',
      'configuration.entities[0].fields[2].attribute',
      'configuration.entities[0].fields[3].attribute',
    ]) {
      expect(v1.body.message).toContain(path);
    }
    expect(v1.body.message).toContain('"_org" is reserved');
    const v2 = await attacker.request('PUT', `/v2/integrations/${integration.body.id}`, {
      name: 'a',
      use_cases: [attack],
    });
    expect(v2.status).toBe(400);
    // `_id` combined with other unique ids is not a direct read either.
    const mixed = await attacker.request<{ message: string }>(
      'POST',
      `/v1/integrations/${integration.body.id}/use-cases`,
      {
        ...attack,
        configuration: {
          entities: [
            {
              entity_schema: 'contact',
              unique_ids: ['_id', 'customer_number'],
              fields: [
                { attribute: '_id', field: 'id' },
                { attribute: 'customer_number', field: 'customerId' },
              ],
            },
          ],
        },
      },
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.message).toContain('configuration.entities[0].unique_ids[0]');
    const saved = await attacker.request<{ use_cases: unknown[] }>(
      'GET',
      `/v2/integrations/${integration.body.id}`,
    );
    expect(saved.body.use_cases).toEqual([]);
  });

  it('dead-letters an update naming `_org` that reaches the topic anyway, and the victim’s entity stays', async () => {
    const victim = await orgWithContacts('victim', [
      { entity_schema: 'contact', unique_ids: ['customer_number'], fields: contactFields },
    ]);
    await victim.send({ customerId: 'V-1', firstName: 'Victor' });
    const before = await contactWritten(victim.api, 'V-1');

    // What a use case with `unique_ids: ["_org", "customer_number"]` and mode purge would have produced.
    const attackerOrg = uniqueName('attacker');
    const uniqueIds = { _org: victim.org, customer_number: 'V-1' };
    const eventId = `evt_${randomUUID()}`;
    const logger = createLogger({ service: 'test', level: 'warn' });
    const kafka = new KafkaClient({ clientId: 'test-attack', brokers: stack.kafkaBrokers, logger });
    const producer = await kafka.producer();
    try {
      await producer.send([
        {
          topic: Topics.entityUpdates,
          key: entityKey(attackerOrg, 'contact', uniqueIds),
          value: {
            schema_version: 1,
            update_id: `${eventId}:0`,
            org_id: attackerOrg,
            integration_id: randomUUID(),
            use_case_id: randomUUID(),
            event_id: eventId,
            correlation_id: randomUUID(),
            entity_schema: 'contact',
            mode: 'purge',
            unique_ids: uniqueIds,
            attributes: uniqueIds,
          },
          headers: { [Headers.eventId]: eventId, [Headers.orgId]: attackerOrg },
        },
      ]);
    } finally {
      await producer.close();
    }
    const dead = await eventually(
      async () =>
        deadLetters.values<DeadLetterMessage>(
          (d) => d.service === 'entity-writer' && d.event_id === eventId,
        )[0],
      30_000,
      'the dead letter of the crafted update',
    );
    expect(dead.error.code).toBe('UNIQUE_ID_INVALID');
    expect(dead.error.message).toContain('"_org"');
    const after = await contacts(victim.api);
    expect(after).toEqual([before]);
  });

  it('a mapped value that is an operator is a per-event error naming the attribute; nothing is written or removed', async () => {
    const victim = await orgWithContacts('victim', [
      { entity_schema: 'contact', unique_ids: ['customer_number'], fields: contactFields },
    ]);
    await victim.send({ customerId: 'V-2', firstName: 'Vera' });
    const victimBefore = await contactWritten(victim.api, 'V-2');

    const attacker = await orgWithContacts('attacker', [
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        jsonataExpression: 'upserts',
        fields: contactFields,
      },
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        jsonataExpression: 'purges',
        mode: 'purge',
        fields: [{ attribute: 'customer_number', field: 'customerId' }],
      },
      {
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        jsonataExpression: 'pruned',
        mode: 'upsert-prune-scope-purge',
        scope: { scope_mode: 'query', query: [{ attribute: 'first_name', jsonataExpression: '$$.scope' }] },
        fields: contactFields,
      },
    ]);
    await attacker.send({ upserts: [{ customerId: 'A-1', firstName: 'Own' }] });
    const ownBefore = await contactWritten(attacker.api, 'A-1');

    // (`pruned: []` in a scope that holds nothing: the third entity has nothing to do here.)
    const purge = await attacker.send({
      purges: [{ customerId: { $ne: null } }],
      pruned: [],
      scope: 'nobody',
    });
    const purgeFailure = await recordOf(attacker.api, attacker.integrationId, purge, 'UNIQUE_ID_INVALID');
    expect(purgeFailure.stage).toBe('mapping_failed');
    expect(purgeFailure.message).toContain('customer_number');

    const prune = await attacker.send({
      pruned: [{ customerId: 'A-2', firstName: 'New' }],
      scope: { $ne: null },
    });
    const pruneFailure = await recordOf(attacker.api, attacker.integrationId, prune, 'UNIQUE_ID_INVALID');
    expect(pruneFailure.stage).toBe('mapping_failed');
    expect(pruneFailure.message).toContain('first_name');

    // The upsert of A-2 in the same event went through; the scope did not prune A-1.
    await contactWritten(attacker.api, 'A-2');
    const own = await contacts(attacker.api);
    expect(own.find((c) => c.customer_number === 'A-1')).toEqual(ownBefore);
    expect(await contacts(victim.api)).toEqual([victimBefore]);
  });
});

describe('the entity search', () => {
  it('refuses operators and internal paths with 400 naming the parameter', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('search')));
    for (const query of [
      '$where=sleep(1000)',
      'customer_number.$ne=x',
      '_hub.applied=x',
      '_hub=x',
      '%24or=x',
    ]) {
      const res = await api.request<{ code: string; message: string }>('GET', `/v1/entity/contact?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('QUERY_INVALID');
      expect(res.body.message, query).toContain('query parameter');
    }
    const fine = await api.request<{ results: unknown[] }>('GET', '/v1/entity/contact?address.city=Berlin');
    expect(fine.status).toBe(200);
    expect(fine.body.results).toEqual([]);
  });
});
