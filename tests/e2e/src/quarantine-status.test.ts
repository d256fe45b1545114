/**
 * Issue 19, quarantine on the real stack (ADR 0015, decision 13): a use case whose events keep hitting the
 * mapping budget is quarantined, and the configuration API says so on the use case (`status`,
 * `quarantined_since`, `quarantine_reason`), in every config-service instance, also one started after the
 * fact. A mapper instance started after the quarantine (as after a restart) parks the use case's events at
 * once instead of running them into the budget again. Changing the configuration clears the status, and
 * the parked events are mapped with the new configuration: none is lost.
 */
import { type DeadLetterMessage, Topics } from '@hub/contracts';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import {
  type ApiClient,
  apiClient,
  collectTopic,
  eventually,
  killInstances,
  type OrgWithUseCase,
  orgWithUseCase,
  resolveStack,
  startInstance,
  type TopicCollector,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
/** Ports of the extra instances, beside the stack's own (its base URL's port and a fixed offset). */
const port = (offset: number) => Number(new URL(stack.baseUrl).port) + offset;
let deadLetters: TopicCollector;
let kafka: KafkaClient;

beforeAll(async () => {
  deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
  kafka = new KafkaClient({
    clientId: 'quarantine-status-test',
    brokers: stack.kafkaBrokers,
    logger: createLogger({ service: 'test', level: 'warn' }),
  });
});
afterAll(async () => {
  killInstances();
  await deadLetters?.stop();
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
// Runs every event of this test to the mapper's deadline (5 s): each one hits the mapping budget.
const SLOW = '$match(text, /(a+)+$/)';
const TEXT = `${'a'.repeat(40)}!`;

interface UseCaseBody {
  id: string;
  revision?: unknown;
  status?: string;
  quarantined_since?: string;
  quarantine_code?: string;
  quarantine_reason?: string;
}

/** Events of distinct groups (so they spread over every partition), in one request; their event ids. */
async function sendSlow(api: ApiClient, integrationId: string, ids: string[]): Promise<string[]> {
  const res = await api.request<{ results: Array<{ status: string; event_id: string }> }>(
    'POST',
    '/v3/erp/updates/events',
    {
      integration_id: integrationId,
      events: ids.map((id) => ({
        event_name: 'customer',
        event_type: 'UPDATE',
        group_id: id,
        timestamp: new Date().toISOString(),
        format: 'json',
        payload: { id, text: TEXT },
      })),
    },
  );
  expect(res.status).toBe(200);
  expect(res.body.results.map((r) => r.status)).toEqual(ids.map(() => 'success'));
  return res.body.results.map((r) => r.event_id);
}

const useCaseOf = async (api: ApiClient, uc: OrgWithUseCase) =>
  (await api.request<UseCaseBody>('GET', `/v1/integrations/${uc.integrationId}/use-cases/${uc.useCaseId}`))
    .body;

/** Whether the event has a `quarantined` monitoring record (it was parked, not mapped). */
async function parked(uc: OrgWithUseCase, eventId: string): Promise<boolean> {
  const res = await uc.api.request<{ monitoring_events: Array<{ stage: string }> }>(
    'GET',
    `/v2/integrations/${uc.integrationId}/monitoring/events/${eventId}/associated`,
  );
  return res.body.monitoring_events.some((r) => r.stage === 'quarantined');
}

const contact = async (api: ApiClient, id: string) =>
  (
    await api.request<{ results: Array<Record<string, unknown>> }>(
      'GET',
      `/v1/entity/contact?customer_number=${id}`,
    )
  ).body.results[0];

async function groupState(groupId: string): Promise<{ members: number; state: string }> {
  const admin = await kafka.admin();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return { members: groups[0]?.members.length ?? 0, state: groups[0]?.state ?? '' };
  } finally {
    await admin.disconnect();
  }
}

describe('a quarantined use case, as the configuration API and every mapper see it', () => {
  it('reports the quarantine on the use case, parks its events in a mapper started later, and clears it on a change with every parked event mapped', async () => {
    const uc = await orgWithUseCase(stack, 'quarantine', configuration(SLOW));
    const before = await useCaseOf(uc.api, uc);
    expect(before.status).toBe('active');
    expect(before).not.toHaveProperty('quarantined_since');
    expect(before).not.toHaveProperty('revision');

    // Three events hit the budget (MAPPING_QUARANTINE_AFTER): the use case is quarantined.
    const first = ['Q-1', 'Q-2', 'Q-3', 'Q-4'];
    const firstEvents = await sendSlow(uc.api, uc.integrationId, first);
    const quarantined = await eventually(
      async () => {
        const body = await useCaseOf(uc.api, uc);
        return body.status === 'quarantined' ? body : undefined;
      },
      120_000,
      'the use case reported quarantined by the configuration API',
    );
    expect(quarantined.quarantine_code).toBe('USE_CASE_QUARANTINED');
    expect(Date.parse(quarantined.quarantined_since ?? '')).toBeGreaterThan(Date.now() - 600_000);
    expect(quarantined.quarantine_reason).toMatch(
      /3 events of this configuration \(revision \d+\) hit the mapping budget within \d+ s; the last: .*deadline.*parked, not lost: change the use case's configuration/,
    );
    // ...in every route that returns the use case.
    const listed = await uc.api.request<{ use_cases: UseCaseBody[] }>(
      'GET',
      `/v1/integrations/${uc.integrationId}/use-cases`,
    );
    expect(listed.body.use_cases).toEqual([
      expect.objectContaining({ id: uc.useCaseId, status: 'quarantined' }),
    ]);
    const v2 = await uc.api.request<{ use_cases: UseCaseBody[] }>(
      'GET',
      `/v2/integrations/${uc.integrationId}`,
    );
    expect(v2.body.use_cases[0]).toMatchObject({
      status: 'quarantined',
      quarantined_since: quarantined.quarantined_since,
    });

    // A config-service started now knows it too: the state is shared and durable, not one process's.
    const configService = await startInstance(stack, 'config-service', port(171), {
      CONFIG_SERVICE_ROLE: 'api',
    });
    expect(await useCaseOf(apiClient(configService.base, uc.token), uc)).toMatchObject({
      status: 'quarantined',
      quarantined_since: quarantined.quarantined_since,
    });
    await configService.stop();

    // A second mapper instance joins the group (as one restarted would, with nothing in memory). The
    // events it gets are parked at once: none of them runs into the budget and is dead-lettered.
    const mapper = await startInstance(stack, 'mapper', port(173), {});
    await eventually(
      async () => {
        const g = await groupState('mapper');
        return g.members === 2 && g.state === 'Stable' ? g : undefined;
      },
      60_000,
      'two mapper instances sharing the partitions',
    );
    const later = Array.from({ length: 12 }, (_, i) => `L-${i}`);
    const laterEvents = await sendSlow(uc.api, uc.integrationId, later);
    for (const eventId of laterEvents) {
      await eventually(
        async () => ((await parked(uc, eventId)) ? true : undefined),
        60_000,
        `event ${eventId} parked`,
      );
    }
    const deadLettered = () =>
      new Set(
        deadLetters
          .values<DeadLetterMessage>((d) => d.service === 'mapper')
          .map((d) => d.event_id)
          .filter((id) => id !== undefined),
      );
    expect(laterEvents.filter((id) => deadLettered().has(id))).toEqual([]);
    await mapper.stop();

    // A change of the configuration lifts the quarantine: the answer and every read say `active`...
    const changed = await uc.api.request<UseCaseBody>(
      'PUT',
      `/v1/integrations/${uc.integrationId}/use-cases/${uc.useCaseId}`,
      { configuration: configuration('$uppercase(text)'), change_description: 'no more backtracking' },
    );
    expect(changed.status).toBe(200);
    expect(changed.body.status).toBe('active');
    expect(changed.body).not.toHaveProperty('quarantine_reason');
    expect((await useCaseOf(uc.api, uc)).status).toBe('active');

    // ...and every parked event is mapped with the new configuration; the others were dead-lettered
    // MAPPING_BUDGET_EXCEEDED before the quarantine. None is lost.
    const all = [...first, ...later];
    const events = [...firstEvents, ...laterEvents];
    const missing = await eventually(
      async () => {
        const dead = deadLettered();
        const left: string[] = [];
        for (const [i, id] of all.entries()) {
          if (dead.has(events[i]!)) continue;
          if ((await contact(uc.api, id))?.note !== TEXT.toUpperCase()) left.push(id);
        }
        return left.length === 0 ? left : undefined;
      },
      180_000,
      'every event mapped after the change, or dead-lettered before the quarantine',
    );
    expect(missing).toEqual([]);
    const dead = [...deadLettered()].filter((id) => events.includes(id!));
    expect(dead.length).toBeLessThan(first.length);
    const codes = deadLetters
      .values<DeadLetterMessage>((d) => dead.includes(d.event_id ?? ''))
      .map((d) => d.error.code);
    expect([...new Set(codes)]).toEqual(dead.length > 0 ? ['MAPPING_BUDGET_EXCEEDED'] : []);
    // Parked events were mapped: every later one, at least.
    for (const id of later) expect((await contact(uc.api, id))?.note).toBe(TEXT.toUpperCase());
    // The use case stays active afterwards (the quarantine's record was released).
    expect((await useCaseOf(uc.api, uc)).status).toBe('active');
  }, 600_000);
});
