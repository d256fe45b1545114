// Entity reads (issue 20): the guide's read-back, `GET /v1/entity/contact?customer_number=...`, timed at a
// small and a large number of stored entities. The search names the schema's one set of unique ids, so the
// entity-writer reads the entity at its derived `_id` (services/entity-writer/src/search.ts): the two
// figures should be of the same order.
import { canonicalJson, nameUuid } from '@hub/contracts';
import { type Document, MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { readContact } from './api.js';
import { customerNumber, entityUpdateMessage, type Target } from './fixtures.js';
import type { Figure } from './report.js';
import { summarise } from './stats.js';
import type { Run } from './steps.js';

/** Entities stored before each measurement, and reads timed at each. The quick form stops at 20,000. */
const PLANS = {
  quick: { sizes: [1_000, 20_000], reads: 300 },
  long: { sizes: [1_000, 200_000], reads: 1_000 },
} as const;
const FILL_BATCH = 1_000;
const WARM_READS = 50;

/**
 * The `_id` the writer gives a contact created with this customer number: `entityIdFor` of
 * services/entity-writer/src/keys.ts (pinned by its tests), written out here since a test never imports a
 * service. Every read below checks that it found its entity, so a derivation that drifted fails the step.
 */
const contactId = (org: string, customer: string) =>
  nameUuid(`entity\u0000${org}\u0000contact\u0000${canonicalJson([['customer_number', customer]])}\u00000`);

export async function entityReads(run: Run, target: Target): Promise<void> {
  const plan = PLANS[run.form.name];
  const store = await MongoStore.connect({
    url: run.stack.mongoUrl,
    logger: createLogger({ service: 'bench-reads', level: 'error' }),
    appName: 'bench-reads',
  });
  try {
    // The first contact through the writer: it records the key set and is the template of the others.
    await run.producer.send([await entityUpdateMessage(target, customerNumber(0), 1)]);
    const first = await until(() => readContact(run.stack.baseUrl, target, customerNumber(0)), 60_000);
    const entities = store.db.collection<Document & { _id: string }>('entities');
    const template = await entities.findOne({ _id: first._id as string });
    if (!template || template._id !== contactId(target.org, customerNumber(0))) {
      throw new Error(`the writer stored the first contact at ${String(first._id)}, not at its derived id`);
    }
    let stored = 1;
    const results: Array<{ size: number; fillMs: number; p50Ms: number; p99Ms: number }> = [];
    for (const size of plan.sizes) {
      const fillStarted = performance.now();
      for (let from = stored; from < size; from += FILL_BATCH) {
        const docs = Array.from({ length: Math.min(FILL_BATCH, size - from) }, (_, i) =>
          contactDoc(template, target.org, customerNumber(from + i)),
        );
        await entities.insertMany(docs, { ordered: false });
      }
      const fillMs = performance.now() - fillStarted;
      stored = size;
      run.log(`reads: ${stored} contacts stored (${(fillMs / 1000).toFixed(1)} s)`);
      const read = async () => {
        const customer = customerNumber(Math.floor(run.random() * stored));
        const started = performance.now();
        const found = await readContact(run.stack.baseUrl, target, customer);
        const ms = performance.now() - started;
        if (found?.customer_number !== customer) throw new Error(`reads: ${customer} not found`);
        return ms;
      };
      for (let i = 0; i < WARM_READS; i++) await read();
      const latencies: number[] = [];
      for (let i = 0; i < plan.reads; i++) latencies.push(await read());
      const { p50Ms, p99Ms } = summarise(latencies);
      results.push({ size, fillMs, p50Ms, p99Ms });
    }
    run.details.reads = { reads: plan.reads, results, total: await entities.estimatedDocumentCount() };
    const n = (x: number) => x.toLocaleString('en-US');
    const how =
      `GET /v1/entity/contact?customer_number=…, ${plan.reads} sequential reads of random stored contacts` +
      (run.form.name === 'quick' ? ` (quick form: ${n(plan.sizes[1])}, not 200,000)` : '');
    const figure = (key: Figure['key'], label: string, value: number, note: string): Figure => ({
      key,
      section: 'reads',
      label,
      value,
      unit: 'ms',
      count: plan.reads,
      note,
    });
    for (const [p50, p99, r] of [
      ['reads.small.p50', 'reads.small.p99', results[0]!],
      ['reads.large.p50', 'reads.large.p99', results[1]!],
    ] as const) {
      const filled = `${how}; ${n(r.size)} filled by insertMany in ${(r.fillMs / 1000).toFixed(0)} s`;
      run.figures.push(
        figure(p50, `guide's read p50, ${n(r.size)} contacts`, r.p50Ms, filled),
        figure(p99, `guide's read p99, ${n(r.size)} contacts`, r.p99Ms, filled),
      );
    }
    run.figures.push({
      ...figure(
        'reads.ratio.p99',
        `read p99 at ${n(plan.sizes[1])} / at ${n(plan.sizes[0])}`,
        results[1]!.p99Ms / results[0]!.p99Ms,
        'goal: within 20 % (0.8-1.2), both under 20 ms',
      ),
      unit: '×',
      count: undefined,
    });
  } finally {
    await store.close();
  }
}

/** A contact as the writer stores it (ADR 9): the template with this customer's id and values. */
function contactDoc(template: Document, org: string, customer: string): Document & { _id: string } {
  const now = new Date().toISOString();
  return {
    ...template,
    _id: contactId(org, customer),
    _created_at: now,
    _updated_at: now,
    _hub: { version: 1, applied: `c${Date.parse(now)} bench-fill-${customer}`, links: [] },
    customer_number: customer,
    first_name: 'John 1',
    email: [{ email: `${customer.toLowerCase()}@example.com` }],
  };
}

async function until<T>(get: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`reads: nothing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
