/**
 * Issue 19, items 4 and 10, on the real broker and the running services: a mapping whose output is too
 * large is a per-event error naming the limit and the partition moves on; a dead letter too large to be
 * written whole is replaced by a pointer to the original (topic, partition, offset) with the reason, and
 * the offset is committed; the services' logs carry no unique-id values.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DeadLetterMessage, deadLetterRecord, Headers, Topics } from '@hub/contracts';
import { ConsumerRunner, KafkaClient, PermanentError } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import {
  type ApiClient,
  collectTopic,
  eventually,
  orgWithUseCase,
  resolveStack,
  type TopicCollector,
  uniqueName,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'bounded-sizes', level: 'fatal' });
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The services' own log files when the stack runs locally (scripts/lib/services.mjs). */
const logDir = path.join(process.env.HUB_LOCAL_DIR ?? path.join(repoRoot, '.local'), 'logs');

let client: KafkaClient;
let deadLetters: TopicCollector;
beforeAll(async () => {
  client = new KafkaClient({ clientId: 'bounded-sizes', brokers: stack.kafkaBrokers, logger });
  deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
});
afterAll(async () => {
  await deadLetters?.stop();
});

/** The offset the group has committed on a partition (-1: none). */
async function committed(groupId: string, topic: string, partition: number): Promise<bigint> {
  const admin = await client.admin();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return BigInt(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1');
  } finally {
    await admin.disconnect();
  }
}

describe('bounded sizes end to end', () => {
  it('writes a pointer dead letter when the broker refuses the whole one, and commits the offset', async () => {
    const topic = uniqueName('pointer-in');
    const dlq = uniqueName('pointer-dlq');
    const groupId = uniqueName('pointer-group');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    // A dead-letter topic that takes 64 KiB at most: the whole dead letter of a 200 KB message is refused.
    const admin = await client.admin();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: dlq, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '65536' }] },
      ],
    });
    await admin.disconnect();
    const producer = await client.producer();
    const written: DeadLetterMessage[] = [];
    const processed: string[] = [];
    const consumer = new ConsumerRunner(client, {
      groupId,
      topics: [topic],
      logger,
      retry: { initialMs: 5, maxMs: 20 },
      handler: async (message) => {
        if (message.key === 'poison') throw new PermanentError('TEST_REFUSED', 'validation', 'never valid');
        processed.push(message.key!);
      },
      onPermanentFailure: async (message, error, attempts, form) => {
        const dead = deadLetterRecord('test', message, error, attempts, form);
        await producer.send([{ ...dead, topic: dlq }]);
        written.push(dead.value);
      },
      onFatal: () => undefined,
    });
    await consumer.start();
    try {
      await producer.send([
        { topic, key: 'poison', value: { note: 'p'.repeat(200_000) } },
        { topic, key: 'after', value: { note: 'fine' } },
      ]);
      await eventually(
        async () => (processed.includes('after') ? true : undefined),
        60_000,
        'the next message',
      );
      expect(written).toHaveLength(1);
      expect(written[0]!.original).toMatchObject({
        topic,
        partition: 0,
        offset: '0',
        key: 'poison',
        value: null,
        value_omitted: { reason: expect.stringContaining('MESSAGE_TOO_LARGE') },
      });
      expect(written[0]!.original.value_omitted!.bytes).toBeGreaterThan(200_000);
      expect(written[0]!.error.code).toBe('TEST_REFUSED');
      await eventually(
        async () => ((await committed(groupId, topic, 0)) >= 2n ? true : undefined),
        30_000,
        'the committed offset past both messages',
      );
    } finally {
      await consumer.stop();
      await producer.close();
    }
  }, 120_000);

  it('the entity-writer dead-letters a 9 MB message it cannot read as a pointer, and moves on', async () => {
    const producer = await client.producer();
    const marker = uniqueName('huge');
    try {
      await producer.send([
        {
          topic: Topics.entityUpdates,
          key: marker,
          value: { marker, note: 'x'.repeat(9 * 1024 * 1024) },
          headers: { [Headers.eventId]: marker },
        },
      ]);
    } finally {
      await producer.close();
    }
    const dead = await eventually(
      async () =>
        deadLetters.values<DeadLetterMessage>(
          (d) => d.service === 'entity-writer' && d.original.key === marker,
        )[0],
      90_000,
      'the pointer dead letter',
    );
    expect(dead.original.value).toBeNull();
    expect(dead.original.value_omitted?.reason).toMatch(/larger than its limit of \d+ bytes/);
    expect(dead.original.value_omitted?.bytes).toBeGreaterThan(9 * 1024 * 1024);
    expect(dead.original.topic).toBe(Topics.entityUpdates);
    const at = BigInt(dead.original.offset);
    await eventually(
      async () =>
        (await committed('entity-writer', Topics.entityUpdates, dead.original.partition)) > at
          ? true
          : undefined,
      60_000,
      'the writer committed past the message',
    );
  }, 150_000);

  it('answers a mapping output past the update limit with MAPPING_OUTPUT_TOO_LARGE naming it; the next event maps', async () => {
    const evil = await orgWithUseCase(stack, 'bounded', {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: 'id' },
            { attribute: 'note', jsonataExpression: 'mode = "big" ? $pad("x", 5000000) : $uppercase(text)' },
          ],
        },
      ],
    });
    const big = await evil.send({ id: 'B-1', mode: 'big' });
    const dead = await eventually(
      async () =>
        deadLetters.values<DeadLetterMessage>((d) => d.service === 'mapper' && d.event_id === big)[0],
      60_000,
      'the dead letter of the oversized update',
    );
    expect(dead.error.code).toBe('MAPPING_OUTPUT_TOO_LARGE');
    expect(dead.error.message).toContain('MAPPING_MAX_UPDATE_BYTES');
    const record = await eventually(
      async () =>
        (
          await evil.api.request<{
            monitoring_events: Array<{ code: string; stage: string; message: string }>;
          }>('GET', `/v2/integrations/${evil.integrationId}/monitoring/events/${big}/associated`)
        ).body.monitoring_events.find((r) => r.stage === 'mapping_failed'),
      30_000,
      'the mapping_failed record',
    );
    expect(record.code).toBe('MAPPING_OUTPUT_TOO_LARGE');
    expect(record.message).toMatch(/MAPPING_MAX_UPDATE_BYTES, \d+ bytes/);
    await evil.send({ id: 'B-2', mode: 'plain', text: 'after' });
    expect((await contact(evil.api, 'B-2')).note).toBe('AFTER');
  }, 120_000);

  it.skipIf(!existsSync(path.join(logDir, 'entity-writer.log')))(
    "logs a dead-lettered update's error without its unique-id values",
    async () => {
      const secret = `${uniqueName('secret')}@example.com`;
      const producer = await client.producer();
      const updateId = `${uniqueName('evt')}:0`;
      try {
        await producer.send([
          {
            topic: Topics.entityUpdates,
            key: updateId,
            value: {
              schema_version: 1,
              update_id: updateId,
              org_id: uniqueName('org'),
              integration_id: 'int-logs',
              use_case_id: 'uc-logs',
              event_id: updateId.slice(0, -2),
              correlation_id: 'corr-logs',
              entity_schema: 'contact',
              mode: 'upsert',
              unique_ids: { email: secret, customer_number: '' },
              attributes: { email: secret },
            },
          },
        ]);
      } finally {
        await producer.close();
      }
      const dead = await eventually(
        async () =>
          deadLetters.values<DeadLetterMessage>(
            (d) => d.service === 'entity-writer' && d.original.key === updateId,
          )[0],
        60_000,
        'the dead letter',
      );
      // The dead letter is the organisation's own record: it names the value. The log does not.
      expect(JSON.stringify(dead)).toContain(secret);
      const line = await eventually(
        async () =>
          readFileSync(path.join(logDir, 'entity-writer.log'), 'utf8')
            .split('\n')
            .find(
              (l) =>
                l.includes('dead-lettered') &&
                l.includes(`"partition":${dead.original.partition},`) &&
                l.includes(`"offset":"${dead.original.offset}"`),
            ),
        30_000,
        'the log line of the dead letter',
      );
      expect(line).toContain(dead.error.code);
      for (const file of ['entity-writer.log', 'mapper.log']) {
        const log = path.join(logDir, file);
        if (existsSync(log)) expect(readFileSync(log, 'utf8'), file).not.toContain(secret);
      }
    },
    90_000,
  );
});

const contact = (api: ApiClient, id: string) =>
  eventually(
    async () =>
      (
        await api.request<{ results: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/entity/contact?customer_number=${id}`,
        )
      ).body.results[0],
    60_000,
    `contact ${id}`,
  );
