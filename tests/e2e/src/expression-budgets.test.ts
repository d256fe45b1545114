/**
 * Issue 10, item 3 on the real stack: a saved mapping whose expression never yields (a catastrophic regular
 * expression) or eats the heap (`$sort` of millions) is stopped by the mapper's sandbox, the event is
 * dead-lettered MAPPING_BUDGET_EXCEEDED with its monitoring record, and another organisation's events keep
 * flowing; a simulation of the same is a 422, and the config-service answers as before.
 */
import { type DeadLetterMessage, Topics } from '@hub/contracts';
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

const CATASTROPHIC = '$match(text, /(a+)+$/)';
// Native sort of a range: jsonata never gets to check its budget, and the heap grows past 256 MB.
const HUGE = '$count($sort([1..3000000]))';
// One allocation past the heap cap: in a worker thread V8 aborted the whole service process (issue 19).
const ABORT = '$length($pad("x", 200000000) & $pad("y", 200000000))';
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

const orgWith = (note: string) => orgWithUseCase(stack, 'budget', configuration(note));

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

describe('expression budgets that hold', () => {
  it('dead-letters an event whose mapping never yields or eats the heap; other organisations go on', async () => {
    const evil = await orgWith(
      `mode = "heap" ? ${HUGE} : mode = "regex" ? ${CATASTROPHIC} : $uppercase(text)`,
    );
    // The allocation that aborts a process runs in an organisation of its own: a use case whose events hit
    // the budget three times in a minute is quarantined (ADR 0015, decision 11), its later events parked,
    // and this test's evil use case must stay below that to show its harmless event mapped at the end.
    const aborter = await orgWith(`mode = "abort" ? ${ABORT} : $uppercase(text)`);
    const fine = await orgWith('$uppercase(name)');
    const stuck = await evil.send({ id: 'E-1', mode: 'regex', text: `${'a'.repeat(40)}!` });
    const heavy = await evil.send({ id: 'E-2', mode: 'heap' });
    const aborting = await aborter.send({ id: 'A-1', mode: 'abort' });
    await fine.send({ id: 'F-1', name: 'ada' });

    for (const [org, eventId] of [
      [evil, stuck],
      [evil, heavy],
      [aborter, aborting],
    ] as const) {
      const dead = await eventually(
        async () =>
          deadLetters.values<DeadLetterMessage>((d) => d.service === 'mapper' && d.event_id === eventId)[0],
        60_000,
        `the dead letter of ${eventId}`,
      );
      expect(dead.error.code).toBe('MAPPING_BUDGET_EXCEEDED');
      expect(dead.error.message).toMatch(/hard deadline of \d+ ms|MB of memory/);
      const record = await eventually(
        async () =>
          (
            await org.api.request<{ monitoring_events: Array<{ code: string; stage: string }> }>(
              'GET',
              `/v2/integrations/${org.integrationId}/monitoring/events/${eventId}/associated`,
            )
          ).body.monitoring_events.find((r) => r.code === 'MAPPING_BUDGET_EXCEEDED'),
        30_000,
        `the monitoring record of ${eventId}`,
      );
      expect(record.stage).toBe('dead_lettered');
    }
    expect((await contact(fine.api, 'F-1')).note).toBe('ADA');
    // The mapper is the same process, and it still maps the evil organisation's harmless events.
    await evil.send({ id: 'E-3', mode: 'plain', text: 'harmless' });
    expect((await contact(evil.api, 'E-3')).note).toBe('HARMLESS');
  });

  it('answers a simulation past its limits with 422 naming the limit, and keeps serving', async () => {
    const api = apiClient(stack.baseUrl, testToken(stack, uniqueName('sim'), ['integration:view']));
    const simulate = (note: string, payload: Record<string, unknown>) =>
      api.request<{
        code?: string;
        message?: string;
        entity_updates?: Array<{ attributes: Record<string, unknown> }>;
      }>('POST', '/v2/erp/updates/mapping_simulation', {
        event_configuration: configuration(note),
        format: 'json',
        payload,
      });
    for (const note of [CATASTROPHIC, HUGE, ABORT]) {
      const res = await simulate(note, { id: '1', text: `${'a'.repeat(40)}!` });
      expect(res.status, note).toBe(422);
      expect(res.body.code, note).toBe('MAPPING_BUDGET_EXCEEDED');
      expect(res.body.message, note).toMatch(/event_configuration: .*(hard deadline|MB of memory)/);
    }
    const ok = await simulate('$uppercase(name)', { id: '2', name: 'grace' });
    expect(ok.status).toBe(200);
    expect(ok.body.entity_updates?.[0]?.attributes.note).toBe('GRACE');
  });
});
