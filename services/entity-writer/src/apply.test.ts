import type { EntityUpdateMessage } from '@hub/contracts';
import type { IncomingMessage } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { type ApplierDeps, UpdatesApplier } from './apply.js';
import { APPLIED_KEPT } from './repository.js';
import type { BatchWrite, EntityWriter } from './writer.js';

const update = (customer: string, n: number): EntityUpdateMessage => ({
  schema_version: 1,
  update_id: `evt_${customer}_${n}:0`,
  org_id: 'org',
  integration_id: 'i',
  use_case_id: 'u',
  event_id: `evt_${customer}_${n}`,
  correlation_id: 'c',
  entity_schema: 'contact',
  mode: 'upsert',
  unique_ids: { customer_number: customer },
  attributes: { customer_number: customer, n },
});

const message = (u: EntityUpdateMessage, offset: number): IncomingMessage => ({
  topic: 'erp.entity.updates',
  partition: 0,
  offset: String(offset),
  key: `org|contact|${u.unique_ids.customer_number}`,
  value: Buffer.from(JSON.stringify(u)),
  headers: {},
  timestamp: '0',
});

/**
 * A writer that applies whatever it is given (what is measured here is what it is given), or only the
 * first `takes` updates of a call, as the writer does when an entity's outbox budget ends the batch.
 */
function applier(takes = Number.POSITIVE_INFINITY) {
  const calls: EntityUpdateMessage[][] = [];
  const writer = {
    apply: async (updates: EntityUpdateMessage[]): Promise<BatchWrite> => {
      calls.push(updates);
      return {
        results: updates.slice(0, takes).map(() => ({
          ok: true as const,
          outcome: 'updated' as const,
          notes: { created: [] },
        })),
        messages: [],
        unconfirmed: [],
        current: new Map(),
        purge: [],
        afterSend: [],
      };
    },
  } as unknown as EntityWriter;
  const deps = {
    writer,
    published: async () => new Set<string>(),
    logger: createLogger({ service: 'test', level: 'silent' }),
  } as unknown as ApplierDeps;
  return { applier: new UpdatesApplier(deps), calls };
}

describe('UpdatesApplier', () => {
  it('takes at most APPLIED_KEPT updates of one entity per call and says how many messages it took', async () => {
    const { applier: a, calls } = applier();
    const messages = [
      ...Array.from({ length: APPLIED_KEPT + 5 }, (_, i) => message(update('HOT', i), i)),
      message(update('OTHER', 0), 100),
    ];
    const first = await a.apply(messages);
    expect(first.results).toHaveLength(APPLIED_KEPT);
    expect(calls.flat().map((u) => u.attributes.n)).toEqual(
      Array.from({ length: APPLIED_KEPT }, (_, i) => i),
    );
    const rest = await a.apply(messages.slice(first.results.length));
    expect(rest.results).toHaveLength(6);
  });

  it('ends the batch where the writer stopped taking: the messages after it come in the next call', async () => {
    const { applier: a, calls } = applier(7);
    const messages = [
      ...Array.from({ length: 12 }, (_, i) => message(update('BIG', i), i)),
      // Undecodable: it would be answered (dead-lettered) at once if the batch went on past the writer's stop.
      { ...message(update('X', 0), 12), value: Buffer.from('not json') },
      message(update('OTHER', 0), 13),
    ];
    const first = await a.apply(messages);
    expect(first.results).toHaveLength(7);
    expect(first.results.every((r) => 'outcome' in r)).toBe(true);
    expect(calls).toHaveLength(1);
    expect(first.outgoing.filter((m) => m.topic === 'erp.dead-letters')).toEqual([]);
  });

  it('takes a whole batch of many entities with a few updates each', async () => {
    const { applier: a, calls } = applier();
    const messages = Array.from({ length: 300 }, (_, i) => message(update(`C${i % 100}`, i), i));
    expect((await a.apply(messages)).results).toHaveLength(300);
    expect(calls).toHaveLength(1); // one write for the lot
  });
});
