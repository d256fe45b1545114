import { postEvents, readContact } from './api.js';
import { type Target, v3Event } from './fixtures.js';
import type { ProcessedWatch } from './processed.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface OrderingResult {
  updates: number;
  /** When the first request was sent (epoch ms). */
  startedAt: number;
  /** First request sent → the last update's processed-entity message arrived. */
  toProcessedMs: number;
  /** First request sent → that message arrived and the entity API shows the last value. */
  toVisibleMs: number;
  /** Processed-entity messages that arrived for the run's events (one per update expected). */
  processed: number;
  /** Per request, in order: its last event's id and when the request was sent and answered (ms after the first). */
  requests: Array<{ lastEventId: string; sentMs: number; answeredMs: number }>;
}

/**
 * One entity updated `requests × batch` times in order through the API: the same customer and
 * `group_id`, requests one after the other, `firstName` carrying 1, 2, 3, ... Timed until the last
 * update's processed message has arrived and `GET /v1/entity/contact` shows its value.
 */
export async function orderedUpdates(
  baseUrl: string,
  target: Target,
  watch: ProcessedWatch,
  plan: { customer: string; requests: number; batch: number; runId: string; timeoutMs: number },
): Promise<OrderingResult> {
  const eventIds: string[] = [];
  const requests: OrderingResult['requests'] = [];
  const started = Date.now();
  for (let r = 0; r < plan.requests; r++) {
    const sentMs = Date.now() - started;
    const events = Array.from({ length: plan.batch }, (_, i) => {
      const version = r * plan.batch + i + 1;
      return v3Event(target, plan.customer, version, `${plan.runId}-order-${version}`);
    });
    const outcome = await postEvents(baseUrl, target, events);
    const accepted = outcome.results?.filter((x) => x.status === 'success') ?? [];
    if (accepted.length !== plan.batch) {
      throw new Error(
        `ordering: request ${r + 1} was answered ${outcome.status}, ${accepted.length} events accepted`,
      );
    }
    eventIds.push(...accepted.map((x) => x.event_id));
    requests.push({ lastEventId: accepted.at(-1)!.event_id, sentMs, answeredMs: Date.now() - started });
  }
  const last = eventIds.at(-1)!;
  const updates = plan.requests * plan.batch;
  const wanted = `John ${updates}`;
  let toProcessedMs: number | undefined;
  for (const deadline = Date.now() + plan.timeoutMs; ; ) {
    const arrived = watch.arrivals.get(last);
    if (arrived !== undefined && toProcessedMs === undefined) toProcessedMs = arrived - started;
    if (
      toProcessedMs !== undefined &&
      (await readContact(baseUrl, target, plan.customer))?.first_name === wanted
    ) {
      return {
        updates,
        startedAt: started,
        toProcessedMs,
        toVisibleMs: Date.now() - started,
        processed: eventIds.filter((id) => watch.arrivals.has(id)).length,
        requests,
      };
    }
    if (Date.now() > deadline)
      throw new Error(`ordering: "${wanted}" not visible within ${plan.timeoutMs} ms`);
    await sleep(toProcessedMs === undefined ? 20 : 50);
  }
}
