/**
 * What can never succeed in the entity-writer is dead-lettered with a clear code and message, nothing is
 * written for it, and the partition moves on; a redelivered update with relations changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { type DeadLetterMessage, entityKey, Topics } from '@hub/contracts';
import { KafkaClient } from '@hub/kafka';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import {
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
let processed: TopicCollector;

beforeAll(async () => {
  deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
  processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
});
afterAll(async () => {
  await deadLetters?.stop();
  await processed?.stop();
});

const integration = (configuration: Record<string, unknown>) =>
  orgWithUseCase(stack, 'writer-errors', configuration, { objectType: 'x', useCaseName: 'errors' });

const deadLetterOf = (eventId: string) =>
  eventually(
    async () =>
      deadLetters.values<DeadLetterMessage>(
        (d) => d.service === 'entity-writer' && d.event_id === eventId,
      )[0],
    45_000,
    `dead letter of ${eventId}`,
  );

describe('entity-writer errors', () => {
  it('dead-letters readings of a missing meter (METER_NOT_FOUND) and keeps going', async () => {
    const { api, send } = await integration({
      entities: [
        {
          entity_schema: 'meter',
          unique_ids: ['meter_number'],
          enabled: '$exists(create)',
          fields: [{ attribute: 'meter_number', field: 'meter' }],
        },
      ],
      meter_readings: [
        {
          meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
          fields: [
            { attribute: 'external_id', field: 'id' },
            { attribute: 'timestamp', field: 'at' },
            { attribute: 'source', constant: 'ERP' },
            { attribute: 'value', field: 'value' },
          ],
        },
      ],
    });
    const lost = await send({ meter: 'NOPE-1', id: 'R-1', at: '2025-01-01', value: 1 });
    const dead = await deadLetterOf(lost);
    expect(dead.error.code).toBe('METER_NOT_FOUND');
    expect(dead.error.message).toContain('no meter with {"meter_number":"NOPE-1"}');
    expect(dead.attempts).toBe(6);

    await send({ meter: 'OK-1', create: true, id: 'R-2', at: '2025-01-02', value: 2 });
    const meter = await eventually(async () => {
      const res = await api.request<{ results: Array<{ _id: string }> }>(
        'GET',
        '/v1/entity/meter?meter_number=OK-1',
      );
      return res.body.results[0];
    });
    const readings = await eventually(async () => {
      const res = await api.request<{ results: Array<Record<string, unknown>> }>(
        'GET',
        `/v1/entity/meter/${meter._id}/meter-readings`,
      );
      return res.body.results.length > 0 ? res.body.results : undefined;
    });
    expect(readings.map((r) => [r.external_id, r.timestamp, r.value])).toEqual([
      ['R-2', '2025-01-02T00:00:00.000Z', 2],
    ]);
  });

  it('dead-letters an update by an _id that does not exist (ENTITY_NOT_FOUND) and creates nothing', async () => {
    const { api, send, integrationId } = await integration({
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
    });
    const eventId = await send({ id: 'no-such-entity', name: 'Ghost' });
    const dead = await deadLetterOf(eventId);
    expect(dead.error.code).toBe('ENTITY_NOT_FOUND');
    expect(dead.error.message).toContain('no entity with _id "no-such-entity"');
    const all = await api.request<{ results: unknown[] }>('GET', '/v1/entity/contact?first_name=Ghost');
    expect(all.body.results).toEqual([]);

    // Monitoring shows the same failure at the end of the event's life (invariant 4).
    const records = await eventually(
      async () => {
        const res = await api.request<{
          monitoring_events: Array<{
            stage: string;
            level: string;
            code: string;
            detail: Record<string, unknown>;
          }>;
        }>('GET', `/v2/integrations/${integrationId}/monitoring/events/${eventId}/associated`);
        return res.body.monitoring_events.length >= 3 ? res.body.monitoring_events : undefined;
      },
      30_000,
      'the dead-lettered record',
    );
    expect(records.map((r) => [r.stage, r.level, r.code])).toEqual([
      ['accepted', 'success', ''],
      ['mapped', 'success', ''],
      ['dead_lettered', 'error', 'ENTITY_NOT_FOUND'],
    ]);
    expect(records[2]!).toMatchObject({
      category: 'validation',
      final: true,
      detail: { service: 'entity-writer', attempts: 1, update_id: `${eventId}:0` },
    });
  });

  it('applies a redelivered update with a relation once: one target, one processed message each', async () => {
    const org = uniqueName('redelivery');
    const api = apiClient(stack.baseUrl, testToken(stack, org));
    const logger = createLogger({ service: 'test', level: 'warn' });
    const kafka = new KafkaClient({ clientId: 'test-redelivery', brokers: stack.kafkaBrokers, logger });
    const producer = await kafka.producer();
    const integration = await api.request<{ id: string }>('POST', '/v2/integrations', { name: 'redelivery' });
    const uniqueIds = { contract_number: 'K-R' };
    const update = {
      schema_version: 1,
      update_id: `${randomUUID()}:0`,
      org_id: org,
      integration_id: integration.body.id,
      use_case_id: 'u',
      event_id: 'e',
      correlation_id: 'c',
      entity_schema: 'contract',
      mode: 'upsert',
      unique_ids: uniqueIds,
      attributes: {
        contract_number: 'K-R',
        meters: {
          $relation: {
            _set: [{ $entity_unique_ids: { meter_number: 'M-R' }, _schema: 'meter', _tags: ['main'] }],
          },
        },
      },
    };
    const message = {
      topic: Topics.entityUpdates,
      key: entityKey(org, 'contract', uniqueIds),
      value: update,
      headers: {},
    };
    try {
      await producer.send([message]);
      await producer.send([message]);
    } finally {
      await producer.close();
    }
    const contract = await eventually(async () => {
      const res = await api.request<{ results: Array<Record<string, unknown>> }>(
        'GET',
        '/v1/entity/contract',
      );
      return res.body.results[0];
    });
    const meters = await api.request<{ results: Array<Record<string, unknown>> }>('GET', '/v1/entity/meter');
    expect(meters.body.results.map((m) => m.meter_number)).toEqual(['M-R']);
    expect(contract.meters).toEqual({
      $relation: [{ entity_id: meters.body.results[0]!._id, _schema: 'meter', _tags: ['main'] }],
    });
    await new Promise((r) => setTimeout(r, 2000)); // the second copy has been consumed by now
    const mine = processed.values<{ org_id: string; action: string; entity_schema: string }>(
      (p) => p.org_id === org,
    );
    expect(mine.map((p) => `${p.action} ${p.entity_schema}`).sort()).toEqual([
      'created contract',
      'created meter',
    ]);
    // Monitoring has one record per stage, not one per delivery: the ids are deterministic.
    const records = await api.request<{
      monitoring_events: Array<{ stage: string; detail: Record<string, unknown> }>;
    }>('GET', `/v2/integrations/${integration.body.id}/monitoring/events/e/associated`);
    expect(
      records.body.monitoring_events.map((r) => [r.stage, r.detail.action ?? r.detail.entity_schema]),
    ).toEqual([
      ['relation_target_created', 'meter'],
      ['entity_written', 'created'],
    ]);
  });
});

describe('delete and purge in the database', () => {
  it('keeps a soft-deleted entity for 30 days (hidden from reads) and removes a purged one', async () => {
    const { org, api, send } = await integration({
      entities: ['upsert', 'delete', 'purge'].map((mode) => ({
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        jsonataExpression: `[${mode}]`,
        mode,
        fields: [{ attribute: 'customer_number', field: 'no' }],
      })),
    });
    await send({ upsert: [{ no: 'S-1' }, { no: 'P-1' }] });
    const ids = await eventually(async () => {
      const res = await api.request<{ results: Array<{ _id: string; customer_number: string }> }>(
        'GET',
        '/v1/entity/contact',
      );
      return res.body.results.length === 2 ? res.body.results : undefined;
    });
    await send({ delete: [{ no: 'S-1' }], purge: [{ no: 'P-1' }] });
    await eventually(async () => {
      const res = await api.request<{ results: unknown[] }>('GET', '/v1/entity/contact');
      return res.body.results.length === 0 ? true : undefined;
    });
    const mongo = await MongoStore.connect({
      url: stack.mongoUrl,
      logger: createLogger({ service: 'test', level: 'warn' }),
      appName: 'test',
    });
    try {
      const docs = await mongo
        .collection<{ _id: string; customer_number: string; _deleted_at?: string }>('entities')
        .find({ _org: org })
        .toArray();
      expect(docs.map((d) => d.customer_number)).toEqual(['S-1']);
      const age = Date.now() - Date.parse(docs[0]!._deleted_at!);
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(60_000);
      const softDeleted = ids.find((e) => e.customer_number === 'S-1')!;
      expect((await api.request('GET', `/v1/entity/contact/${softDeleted._id}`)).status).toBe(404);
    } finally {
      await mongo.close();
    }
  });
});
