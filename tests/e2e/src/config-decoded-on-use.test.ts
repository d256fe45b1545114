/**
 * Issue 19, the noisy neighbour (ADR 0015, decision 23), on the real stack: the config-service's records on
 * `erp.config.changes` carry their organisation and integration revision in headers, so a mirror (the
 * gateway's, the mapper's) holds another organisation's snapshot without decoding it and decodes it when
 * that organisation first needs it. And the catch-up guarantee of ADR 3 still holds: a change answered
 * before a request applies to it.
 */
import { ConfigHeaders, ConfigView, Headers, Topics } from '@hub/contracts';
import { KafkaClient, mirrorInto, type TopicMirror } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { type OrgWithUseCase, orgWithUseCase, resolveStack } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'test', level: 'warn' });
let kafka: KafkaClient;
let mirror: TopicMirror | undefined;

beforeAll(() => {
  kafka = new KafkaClient({ clientId: 'config-decoded-on-use-test', brokers: stack.kafkaBrokers, logger });
});
afterAll(async () => {
  await mirror?.stop();
});

const configuration = (note: string) => ({
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', jsonataExpression: note },
      ],
    },
  ],
});

const changeNote = (uc: OrgWithUseCase, note: string, extra: Record<string, unknown> = {}) =>
  uc.api.request<{ revision?: number }>(
    'PUT',
    `/v1/integrations/${uc.integrationId}/use-cases/${uc.useCaseId}`,
    {
      configuration: configuration(note),
      ...extra,
    },
  );

describe('configuration snapshots decoded when their organisation needs them', () => {
  it('mirrors another organisation’s change undecoded, and decodes it on that organisation’s first use', async () => {
    const mine = await orgWithUseCase(stack, 'decoded-mine', configuration('"a"'));
    const theirs = await orgWithUseCase(stack, 'decoded-theirs', configuration('"b"'));
    // Theirs changes its use case with a large configuration (what a noisy neighbour republishes).
    const changed = await changeNote(theirs, JSON.stringify('x'.repeat(200_000)));
    expect(changed.status).toBe(200);

    const unreadable: string[] = [];
    const view = new ConfigView({ onUnreadable: (id) => unreadable.push(id) });
    mirror = mirrorInto(kafka, { topic: Topics.configChanges, view, what: 'config record', logger });
    await mirror.start();

    // Caught up with the whole topic, the mirror decoded nothing: every record names its organisation and
    // revision.
    expect(view.undecodedCount).toBe(view.size);
    expect(view.undecodedCount).toBeGreaterThanOrEqual(2);
    const before = view.undecodedCount;
    // My organisation's first use decodes my integration, and only it.
    expect(view.integration(mine.org, mine.integrationId)?.useCases[0]?.id).toBe(mine.useCaseId);
    expect(view.integration(mine.org, theirs.integrationId)).toBeUndefined();
    expect(view.undecodedCount).toBe(before - 1);
    // Theirs, on their own first use: the revision their change was published with.
    const snapshot = view.integration(theirs.org, theirs.integrationId);
    expect(snapshot?.useCases[0]?.configuration).toEqual(configuration(JSON.stringify('x'.repeat(200_000))));
    expect(view.undecodedCount).toBe(before - 2);
    expect(unreadable).toEqual([]);
  });

  it('publishes each snapshot with its organisation and integration revision in headers', async () => {
    const uc = await orgWithUseCase(stack, 'decoded-headers', configuration('"a"'));
    expect((await changeNote(uc, '"b"')).status).toBe(200);
    const records: Array<{ headers: Record<string, string>; revision: number }> = [];
    const collector = mirrorInto(kafka, {
      topic: Topics.configChanges,
      view: {
        apply: (key, value, headers) => {
          if (key !== uc.integrationId || !value) return;
          const message = JSON.parse(value.toString('utf8')) as { integration: { revision: number } };
          records.push({ headers, revision: message.integration.revision });
        },
      },
      what: 'config record',
      logger,
    });
    await collector.start();
    await collector.stop();
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const r of records) {
      expect(r.headers[Headers.orgId]).toBe(uc.org);
      expect(r.headers[ConfigHeaders.revision]).toBe(String(r.revision));
    }
  });

  it('still applies a change answered before an event to that event (the gateway decodes on use)', async () => {
    const uc = await orgWithUseCase(stack, 'decoded-barrier', configuration('"a"'));
    await uc.send({ id: 'c-1' });
    const disabled = await changeNote(uc, '"b"', { enabled: false });
    expect(disabled.status).toBe(200);
    const res = await uc.api.request<{ results: Array<{ status: string }> }>(
      'POST',
      '/v2/erp/updates/events',
      {
        integration_id: uc.integrationId,
        events: [
          {
            event_type: 'UPDATE',
            object_type: 'customer',
            timestamp: new Date().toISOString(),
            format: 'json',
            payload: JSON.stringify({ id: 'c-2' }),
          },
        ],
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.results[0]?.status).toBe('ignored');
  });
});
