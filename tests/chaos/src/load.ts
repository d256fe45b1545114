import { type Answer, failingAnswer, type SentChange } from './analysis.js';

export interface LoadPlan {
  /** An upper bound; the run normally ends with `stop()` once the faults are over. */
  maxEvents: number;
  /** Distinct customers (entities) the events are spread over. */
  customers: number;
  /** Events per second, sent in batches of `batch`. */
  rate: number;
  batch: number;
  random: () => number;
}

export interface LoadStats {
  requests: number;
  /** Requests that got no answer (connection refused or reset, timeout). */
  noAnswer: number;
  /** Answers other than 200, by status. */
  byStatus: Record<string, number>;
  /** Events answered `error` (retried). */
  eventErrors: number;
  /** Answers that fail the run (`failingAnswer`), by status. */
  failedAnswers: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends the plan's changes at a steady rate through the public API, one request at a time so each
 * customer's updates arrive in order. A batch is retried (same deduplication ids) until every event in
 * it is answered `success` or `skipped`: what a careful ERP middleware does when an answer is lost.
 */
export class LoadGenerator {
  readonly changes: SentChange[] = [];
  /** When each `200` answer arrived, for recovery times. */
  readonly acceptedAt: number[] = [];
  /** Every answer, in order (status 0: none), for the time the API answered 503 during each fault. */
  readonly answers: Answer[] = [];
  readonly stats: LoadStats = { requests: 0, noAnswer: 0, byStatus: {}, eventErrors: 0, failedAnswers: {} };
  private stopped = false;

  private readonly seq = new Map<string, number>();

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly integrationId: string,
    private readonly runId: string,
    private readonly plan: LoadPlan,
  ) {}

  /**
   * Sends batches at the plan's rate until `stop()` (or `maxEvents`). A batch in progress when `stop()` is
   * called is still completed, so every change is either answered or never sent.
   */
  async run(): Promise<void> {
    const started = Date.now();
    const interval = (this.plan.batch / this.plan.rate) * 1000;
    for (let n = 0; !this.stopped && this.changes.length < this.plan.maxEvents; n++) {
      const due = started + n * interval;
      if (Date.now() < due) await sleep(due - Date.now());
      await this.sendBatch(this.nextBatch());
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private nextBatch(): SentChange[] {
    const batch: SentChange[] = [];
    for (let i = 0; i < this.plan.batch; i++) {
      const customer = `C-${Math.floor(this.plan.random() * this.plan.customers)}`;
      const seq = (this.seq.get(customer) ?? 0) + 1;
      this.seq.set(customer, seq);
      batch.push({ key: `${customer}:${seq}`, customer, seq, outcome: 'unsent', eventIds: [], sentAt: 0 });
    }
    this.changes.push(...batch);
    return batch;
  }

  private async sendBatch(batch: SentChange[]): Promise<void> {
    let pending = batch;
    const giveUpAt = Date.now() + 5 * 60_000;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (Date.now() > giveUpAt) {
        throw new Error(`the hub did not accept ${pending.length} events for 5 minutes: it did not recover`);
      }
      if (attempt > 0) await sleep(Math.min(2_000, 250 * 2 ** Math.min(attempt - 1, 3)));
      const now = Date.now();
      for (const change of pending) change.sentAt ||= now;
      const answer = await this.post(pending);
      if (!answer) continue;
      this.acceptedAt.push(Date.now());
      pending = pending.filter((change, i) => {
        const result = answer[i];
        if (result?.status === 'success') {
          change.outcome = change.outcome === 'unsent' ? 'accepted' : change.outcome;
          change.eventIds.push(result.event_id);
          return false;
        }
        if (result?.status === 'skipped') {
          // Only a retry can meet its own deduplication id: an earlier attempt was accepted.
          if (change.outcome === 'unsent') change.outcome = 'accepted-earlier';
          return false;
        }
        if (result?.status === 'ignored') {
          change.outcome = 'ignored';
          return false;
        }
        this.stats.eventErrors++;
        return true;
      });
    }
  }

  private async post(batch: SentChange[]): Promise<Array<{ status: string; event_id: string }> | undefined> {
    this.stats.requests++;
    try {
      const res = await fetch(`${this.baseUrl}/v3/erp/updates/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({
          integration_id: this.integrationId,
          events: batch.map((change) => ({
            event_name: 'customer',
            event_type: 'UPDATE',
            // One ordering group per customer (the business partner), as an ERP would send them: the
            // gateway keys by integration + group, so customers spread over the partitions and the
            // mapper can scale out while each customer's updates keep their order.
            group_id: change.customer,
            timestamp: new Date().toISOString(),
            format: 'json',
            deduplication_id: `${this.runId}_${change.customer}_${change.seq}`,
            payload: {
              customer_id: change.customer,
              seq: change.seq,
              name: `Customer ${change.customer} v${change.seq}`,
            },
          })),
        }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      this.answers.push({ at: Date.now(), status: res.status });
      if (res.status !== 200) {
        this.stats.byStatus[res.status] = (this.stats.byStatus[res.status] ?? 0) + 1;
        const failing = failingAnswer(res.status, res.headers.get('retry-after'));
        if (failing) this.stats.failedAnswers[failing] = (this.stats.failedAnswers[failing] ?? 0) + 1;
        // 429 and 5xx are worth a retry; any other answer means the test itself is wrong.
        if (res.status < 500 && res.status !== 429) throw new RequestRejected(res.status, text);
        return undefined;
      }
      return (JSON.parse(text) as { results: Array<{ status: string; event_id: string }> }).results;
    } catch (err) {
      if (err instanceof RequestRejected) throw err;
      this.answers.push({ at: Date.now(), status: 0 });
      this.stats.noAnswer++;
      return undefined;
    }
  }
}

export class RequestRejected extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`the hub rejected a chaos request with ${status}: ${body}`);
  }
}
