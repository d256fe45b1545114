// Load through the public API while the database fails over (mongo-failover.test.ts on the fault injector,
// mongo-replica-set.test.ts on a MongoDB replica set), and what must hold afterwards.
import type { ProcessedEntityMessage } from '@hub/contracts';
import { type ApiClient, eventually, type TopicCollector } from '@hub/testing';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A contact per `customer_number`, with the change's `seq` and a name. */
export const contacts = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customer_id' },
        { attribute: 'seq', field: 'seq' },
        { attribute: 'name', field: 'name' },
      ],
    },
  ],
};

export interface LoadOutcome {
  /** The last `seq` sent (and accepted) per customer; every earlier one was accepted too. */
  last: Map<string, number>;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Answers a client must never get: anything but 200, or 503/504 with Retry-After. */
  wrong: string[];
}

/**
 * Sends batches of 5 events over `customers` contacts, one request at a time, each retried with the same
 * deduplication ids until every event is `success` or `skipped` (a careful ERP client), until stopped.
 */
export function startLoad(api: ApiClient, integrationId: string, org: string, customers = 12) {
  const outcome: LoadOutcome = { last: new Map(), statuses: {}, wrong: [] };
  const send = async (batch: Array<{ customer: string; seq: number }>) => {
    for (let attempt = 0; ; attempt++) {
      const res = await api.request<{ results?: Array<{ status: string }> }>(
        'POST',
        '/v3/erp/updates/events',
        {
          integration_id: integrationId,
          events: batch.map(({ customer, seq }) => ({
            event_name: 'customer',
            event_type: 'UPDATE',
            group_id: customer,
            timestamp: new Date().toISOString(),
            format: 'json',
            deduplication_id: `${org}_${customer}_${seq}`,
            payload: { customer_id: customer, seq, name: `${customer} v${seq}` },
          })),
        },
      );
      outcome.statuses[res.status] = (outcome.statuses[res.status] ?? 0) + 1;
      if (res.status === 200 && res.body.results?.every((r) => ['success', 'skipped'].includes(r.status)))
        return;
      if (res.status === 503 || res.status === 504) {
        if (!res.headers.get('retry-after')) outcome.wrong.push(`${res.status} without Retry-After`);
      } else if (res.status !== 200) {
        outcome.wrong.push(`${res.status} ${JSON.stringify(res.body)}`);
      }
      if (attempt > 100)
        throw new Error(`a batch was never accepted; answers ${JSON.stringify(outcome.statuses)}`);
      await sleep(250);
    }
  };
  let stopped = false;
  const running = (async () => {
    for (let sent = 0; !stopped; sent += 5) {
      const batch = Array.from({ length: 5 }, (_, i) => {
        const customer = `C-${(sent + i) % customers}`;
        const seq = (outcome.last.get(customer) ?? 0) + 1;
        outcome.last.set(customer, seq);
        return { customer, seq };
      });
      await send(batch);
      await sleep(50);
    }
  })();
  return {
    async stop(): Promise<LoadOutcome> {
      stopped = true;
      await running;
      return outcome;
    },
  };
}

/**
 * Waits until every change of the load has its processed-entity message, then (after a pause in which a
 * late duplicate would arrive) returns the changes' keys (`customer:seq`) as published, one per message.
 */
export async function publishedChanges(processed: TopicCollector, org: string, last: Map<string, number>) {
  const expected = [...last].flatMap(([customer, n]) =>
    Array.from({ length: n }, (_, i) => `${customer}:${i + 1}`),
  );
  const keysOf = () =>
    processed
      .values<ProcessedEntityMessage>((m) => m.org_id === org && m.entity_schema === 'contact')
      .map((p) => `${p.entity.customer_number}:${p.entity.seq}`);
  await eventually(
    async () =>
      new Set(keysOf()).size >= expected.length && expected.every((k) => keysOf().includes(k))
        ? true
        : undefined,
    45_000,
    `processed messages for all ${expected.length} changes`,
  );
  await sleep(2_000);
  return { expected, published: keysOf() };
}
