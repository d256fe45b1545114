/**
 * Issue 19, item 3 on the real stack (ADR 0015, decision 10): an organisation whose use case runs every
 * event to the mapping deadline cannot stall mapping for another. Its use case is quarantined after a few
 * events hit the budget, its other events are parked (monitoring `quarantined`), the victim's events are
 * mapped meanwhile, and once the attacker changes its configuration every parked event is mapped: none lost.
 */
import { type DeadLetterMessage, Topics } from '@hub/contracts';
import {
  type ApiClient,
  collectTopic,
  eventually,
  orgWithUseCase,
  resolveStack,
  type TopicCollector,
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

/** Events of distinct groups (so they spread over every partition), in one request. */
async function sendMany(api: ApiClient, integrationId: string, payloads: Array<Record<string, unknown>>) {
  const res = await api.request<{ results: Array<{ status: string; event_id: string }> }>(
    'POST',
    '/v3/erp/updates/events',
    {
      integration_id: integrationId,
      events: payloads.map((payload) => ({
        event_name: 'customer',
        event_type: 'UPDATE',
        group_id: String(payload.id),
        timestamp: new Date().toISOString(),
        format: 'json',
        payload,
      })),
    },
  );
  expect(res.status).toBe(200);
  expect(res.body.results.map((r) => r.status)).toEqual(payloads.map(() => 'success'));
  return res.body.results.map((r) => r.event_id);
}

const contact = async (api: ApiClient, id: string) =>
  (
    await api.request<{ results: Array<Record<string, unknown>> }>(
      'GET',
      `/v1/entity/contact?customer_number=${id}`,
    )
  ).body.results[0];

// Each of these events runs to the mapper's deadline (5 s): 120 of them are 300 worker-seconds, far
// longer than the victim waits here, unless the attacker's use case is quarantined.
const ATTACK = 120;
const SLOW = '$match(text, /(a+)+$/)';

describe('fair mapping between organisations', () => {
  it("maps a victim's events while an attacker's slow use case is quarantined; after a change none is lost", async () => {
    const attacker = await orgWithUseCase(stack, 'attacker', configuration(SLOW), {
      objectType: 'customer',
    });
    // Another organisation's slow use case, quarantined too and never changed: its parked events must not
    // hold up the attacker's once that one changes.
    const abandoned = await orgWithUseCase(stack, 'abandoned', configuration(SLOW), {
      objectType: 'customer',
    });
    await sendMany(
      abandoned.api,
      abandoned.integrationId,
      Array.from({ length: 30 }, (_, i) => ({ id: `B-${i}`, text: `${'a'.repeat(40)}!` })),
    );
    const victim = await orgWithUseCase(stack, 'victim', configuration('$uppercase(name)'));
    const ids = Array.from({ length: ATTACK }, (_, i) => `A-${i}`);
    const attackEvents = await sendMany(
      attacker.api,
      attacker.integrationId,
      ids.map((id) => ({ id, text: `${'a'.repeat(40)}!` })),
    );
    const victims = Array.from({ length: 6 }, (_, i) => `V-${i}`);
    await sendMany(
      victim.api,
      victim.integrationId,
      victims.map((id) => ({ id, name: `name ${id}` })),
    );

    // The victim's events are mapped while the attacker's wait.
    for (const id of victims) {
      const found = await eventually(() => contact(victim.api, id), 90_000, `victim contact ${id}`);
      expect(found.note).toBe(`NAME ${id}`.toUpperCase());
    }

    // The attacker sees why its events wait: the use case is quarantined, the events parked.
    const quarantined = await eventually(
      async () => {
        for (const eventId of attackEvents.slice(-20)) {
          const records = (
            await attacker.api.request<{
              monitoring_events: Array<{ code: string; stage: string; level: string; message: string }>;
            }>('GET', `/v2/integrations/${attacker.integrationId}/monitoring/events/${eventId}/associated`)
          ).body.monitoring_events;
          const record = records.find((r) => r.stage === 'quarantined');
          if (record) return record;
        }
        return undefined;
      },
      90_000,
      'a quarantined monitoring record of the attacker',
    );
    expect(quarantined).toMatchObject({ code: 'USE_CASE_QUARANTINED', level: 'warning' });
    expect(quarantined.message).toMatch(/parked, not lost.*configuration changes/);

    // A configuration change lifts the quarantine: every event is mapped, or was dead-lettered
    // MAPPING_BUDGET_EXCEEDED before the use case was quarantined. None is lost.
    const changed = await attacker.api.request(
      'PUT',
      `/v1/integrations/${attacker.integrationId}/use-cases/${attacker.useCaseId}`,
      { configuration: configuration('$uppercase(text)') },
    );
    expect(changed.status).toBe(200);
    const deadLettered = () =>
      new Set(
        deadLetters
          .values<DeadLetterMessage>((d) => d.service === 'mapper' && attackEvents.includes(d.event_id ?? ''))
          .map((d) => d.event_id),
      );
    const missing = await eventually(
      async () => {
        const dead = deadLettered();
        const left: string[] = [];
        for (const [i, id] of ids.entries()) {
          if (dead.has(attackEvents[i]!)) continue;
          const found = await contact(attacker.api, id);
          if (found?.note !== `${'A'.repeat(40)}!`) left.push(id);
        }
        return left.length === 0 ? left : undefined;
      },
      180_000,
      'every attacker event mapped or dead-lettered',
    );
    expect(missing).toEqual([]);
    const dead = deadLettered();
    // Only the events that hit the budget before the quarantine were dead-lettered; the rest were parked.
    expect(dead.size).toBeGreaterThan(0);
    expect(dead.size).toBeLessThan(10);
  }, 400_000);
});
