/**
 * Fair scheduling inside one chunk (ADR 0015, decision 10), with the real mapping sandbox: events of
 * different keys are mapped at once, so one organisation's slow events do not hold another's behind them,
 * and events of one key keep their order. Fakes only for the producer and the configuration topic.
 */
import { ConfigView, Topics } from '@hub/contracts';
import type { IncomingMessage, MessageProducer, OutgoingMessage, TopicMirror } from '@hub/kafka';
import { MappingSandbox, type RunHooks } from '@hub/mapping';
import { createLogger } from '@hub/observability';
import { afterAll, describe, expect, it } from 'vitest';
import { Quarantine } from './fairness.js';
import { EventProcessor } from './processor.js';

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
/** A producer that hands each send's entity updates (their customer numbers) to `record`. */
const recordingProducer = (record: (customerNumbers: string[]) => void) =>
  ({
    send: async (messages: OutgoingMessage[]) =>
      record(
        messages
          .filter((m) => m.topic === Topics.entityUpdates)
          .map(
            (m) => (m.value as { unique_ids?: Record<string, string> }).unique_ids?.customer_number ?? '?',
          ),
      ),
  }) as unknown as MessageProducer;

const view = new ConfigView();
for (const [org, note] of [
  ['slow-org', '$match(text, /(a+)+$/)'],
  ['quick-org', '$uppercase(text)'],
] as const) {
  view.apply(
    `i-${org}`,
    JSON.stringify({
      schema_version: 1,
      integration: { id: `i-${org}`, orgId: org, name: org, created_at: 'x', updated_at: 'x', revision: 1 },
      use_cases: [
        {
          id: `u-${org}`,
          integrationId: `i-${org}`,
          name: 'u',
          slug: 'u',
          type: 'inbound',
          enabled: true,
          configuration: configuration(note),
          created_at: 'x',
          updated_at: 'x',
          revision: 1,
        },
      ],
    }),
  );
}

let offset = 0;
const message = (org: string, group: string, id: string, text: string): IncomingMessage => ({
  topic: Topics.inboundEvents,
  partition: 0,
  offset: String(offset++),
  key: `i-${org}:${group}`,
  headers: {},
  timestamp: '0',
  value: Buffer.from(
    JSON.stringify({
      schema_version: 1,
      event_id: `evt_${id}`,
      org_id: org,
      integration_id: `i-${org}`,
      use_case_id: `u-${org}`,
      config_revision: 1,
      routed_by: 'slug',
      correlation_id: `c-${id}`,
      event_name: 'customer',
      format: 'json',
      payload: JSON.stringify({ id, text }),
      accepted_at: new Date().toISOString(),
    }),
  ),
});

/**
 * What the consumer does with a chunk: hands it to `handleBatch` and, while events are still mapping,
 * waits for `resumeAfter` and hands over the messages not taken again (fetched again), until all are taken.
 */
async function deliver(processor: EventProcessor, chunk: IncomingMessage[]) {
  const codes: string[] = [];
  let mapped = 0;
  let calls = 0;
  for (let rest = chunk; rest.length > 0; ) {
    calls++;
    const progress = await processor.handleBatch(rest, () => []);
    codes.push(...progress.codes);
    mapped += progress.mapped;
    rest = rest.slice(progress.taken);
    if (rest.length > 0) {
      expect(progress.resumeAfter).toBeDefined();
      await progress.resumeAfter;
    }
  }
  return { codes, mapped, calls };
}

const quietLogger = createLogger({ service: 'test', level: 'silent' });

/**
 * As the mapper has it by default: an organisation runs on all workers but one, its waiting events in
 * batches; `wide` lets it run on two workers at once, one event per message.
 */
const mapperSandbox = (wide = false) =>
  new MappingSandbox({
    limits: { timeoutMs: 100, maxDepth: 500 },
    deadlineMs: 1_000,
    memoryMb: 64,
    ...(wide
      ? { workers: 3, maxRunningPerTenant: 2, batch: { max: 1 } }
      : { workers: 2, maxRunningPerTenant: 1, batch: { max: 32 } }),
  });

describe('a chunk of several organisations', () => {
  const sandbox = mapperSandbox();
  afterAll(() => sandbox.close());

  it("sends a quick organisation's events before a slow one's are done, one key's events in order", async () => {
    // Each send with the workers started by then: every slow event stopped at its deadline starts one.
    const sends: Array<{ numbers: string[]; started: number }> = [];
    const producer = recordingProducer((numbers) => sends.push({ numbers, started: sandbox.started }));
    const processor = new EventProcessor({
      view,
      mirror: { catchUp: async () => {} } as unknown as TopicMirror,
      producer,
      logger: quietLogger,
      sandbox,
      catchUpTimeoutMs: 1_000,
      quarantine: new Quarantine({ after: 100, windowMs: 60_000 }),
    });
    const slow = `${'a'.repeat(40)}!`;
    // The slow organisation's events come first in the chunk; the quick one's are behind them, two on one key.
    const chunk = [
      message('slow-org', 's1', 'S1', slow),
      message('slow-org', 's2', 'S2', slow),
      message('slow-org', 's3', 'S3', slow),
      message('slow-org', 's4', 'S4', slow),
      message('quick-org', 'q', 'Q1', 'first'),
      message('quick-org', 'q', 'Q2', 'second'),
    ];
    const result = await deliver(processor, chunk);
    expect(result.codes).toEqual([
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
      'MAPPING_BUDGET_EXCEEDED',
    ]);
    // The quick organisation's updates went out in order, before the slow events were all stopped.
    expect(sends.flatMap((s) => s.numbers)).toEqual(['Q1', 'Q2']);
    expect(sends[0]!.started).toBeLessThan(sandbox.started);
  }, 30_000);

  it('returns what is done while an event is held, and takes the rest once it is done, each event mapped once', async () => {
    const sends: string[] = [];
    const producer = recordingProducer((numbers) => sends.push(...numbers));
    // The held organisation's mappings wait until released, as one running to the deadline would.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runs: string[] = [];
    const holding = {
      run: async (job: Parameters<MappingSandbox['run']>[0], hooks?: RunHooks) => {
        hooks?.onStart?.();
        runs.push(String((JSON.parse(String(job.payload)) as { id: string }).id));
        if (job.tenant === 'quick-org') return sandbox.run(job);
        await held;
        return sandbox.run({
          ...job,
          tenant: 'quick-org',
          key: 'u-quick-org@1',
          configuration: configuration('$uppercase(text)'),
        });
      },
      blocked: () => false,
    } as unknown as MappingSandbox;
    const processor = new EventProcessor({
      view,
      mirror: { catchUp: async () => {} } as unknown as TopicMirror,
      producer,
      logger: quietLogger,
      sandbox: holding,
      catchUpTimeoutMs: 1_000,
      quarantine: new Quarantine({ after: 100, windowMs: 60_000 }),
      chunkPatienceMs: 20,
    });
    await sandbox.run({
      key: 'u-quick-org@1',
      configuration: configuration('$uppercase(text)'),
      format: 'json',
      payload: JSON.stringify({ id: 'warm', text: 'x' }),
      tenant: 'quick-org',
    });
    // The held event first; the other organisation's behind it; the held key's second event last but one.
    const chunk = [
      message('slow-org', 'h', 'H1', 'one'),
      message('quick-org', 'q', 'Q1', 'first'),
      message('slow-org', 'h', 'H2', 'two'),
      message('quick-org', 'q', 'Q2', 'second'),
    ];
    // Fetched again and again while H1 is held: the quick organisation's events are mapped and sent, but
    // nothing is taken past H1 (its offset cannot be committed), and nothing is mapped twice.
    for (;;) {
      const progress = await processor.handleBatch(chunk, () => []);
      expect(progress.taken).toBe(0);
      expect(progress.resumeAfter).toBeDefined();
      if (sends.length === 2) break;
      await progress.resumeAfter;
    }
    expect(sends).toEqual(['Q1', 'Q2']);
    const again = await processor.handleBatch(chunk, () => []);
    expect(again.taken).toBe(0);
    // H2 was handed to the sandbox at once (decision 27), but its outputs wait for H1's: none was sent.
    expect(runs).toEqual(['H1', 'Q1', 'H2', 'Q2']);
    release();
    const rest = await deliver(processor, chunk);
    expect(rest.mapped).toBe(4);
    expect(sends).toEqual(['Q1', 'Q2', 'H1', 'H2']);
    expect(runs).toEqual(['H1', 'Q1', 'H2', 'Q2']);
  }, 30_000);
});

describe('a chunk whose events left are all held up (decision 20)', () => {
  const sandbox = mapperSandbox();
  afterAll(() => sandbox.close());

  it('is returned as soon as its quick events are sent, not after a patience without progress', async () => {
    const sends: string[] = [];
    const producer = recordingProducer((numbers) => sends.push(...numbers));
    // The slow organisation's mapping runs "long" (the clock jumps an hour once it starts) until released.
    let clock = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runs: string[] = [];
    // The slow organisation runs on one worker at a time (as `maxRunningPerTenant` makes it): its second
    // event waits in its queue, and is held up once the running one has run a patience.
    let slowSince: number | undefined;
    const slowQueue: Array<() => void> = [];
    const holding = {
      run: async (job: Parameters<MappingSandbox['run']>[0], hooks?: RunHooks) => {
        if (job.tenant !== 'quick-org') {
          while (slowSince !== undefined) await new Promise<void>((resolve) => slowQueue.push(resolve));
          slowSince = clock;
        }
        hooks?.onStart?.();
        runs.push(String((JSON.parse(String(job.payload)) as { id: string }).id));
        if (job.tenant === 'quick-org') return sandbox.run(job);
        clock += 3_600_000;
        await held;
        try {
          return await sandbox.run({
            ...job,
            tenant: 'quick-org',
            key: 'u-quick-org@1',
            configuration: configuration('$uppercase(text)'),
          });
        } finally {
          slowSince = undefined;
          slowQueue.shift()?.();
        }
      },
      blocked: (tenant: string, heldMs: number) =>
        tenant === 'slow-org' && slowSince !== undefined && clock - slowSince >= heldMs,
    } as unknown as MappingSandbox;
    const now = () => clock;
    const processor = new EventProcessor({
      view,
      mirror: { catchUp: async () => {} } as unknown as TopicMirror,
      producer,
      logger: quietLogger,
      sandbox: holding,
      catchUpTimeoutMs: 1_000,
      quarantine: new Quarantine({ after: 100, windowMs: 60_000 }),
      // A patience far beyond the test's timeout: only "held up" can end a call early.
      chunkPatienceMs: 600_000,
      now,
    });
    // H1 runs long; H2 (another key of the same organisation) waits at the gate behind it.
    const first = [message('slow-org', 'h1', 'H1', 'one'), message('slow-org', 'h2', 'H2', 'two')];
    const started = await processor.handleBatch(first, () => []);
    expect(started.taken).toBe(0);
    expect(started.resumeAfter).toBeDefined();
    expect(runs).toEqual(['H1']);
    // Fetched again with another organisation's events behind: they are mapped and sent, and the call
    // returns without waiting for the held ones.
    const chunk = [
      ...first,
      message('quick-org', 'q', 'Q1', 'first'),
      message('quick-org', 'q', 'Q2', 'second'),
    ];
    const again = await processor.handleBatch(chunk, () => []);
    expect(again.taken).toBe(0);
    expect(sends).toEqual(['Q1', 'Q2']);
    expect(runs).toEqual(['H1', 'Q1', 'Q2']);
    release();
    const rest = await deliver(processor, chunk);
    expect(rest.mapped).toBe(4);
    expect(sends).toEqual(['Q1', 'Q2', 'H1', 'H2']);
    expect(runs).toEqual(['H1', 'Q1', 'Q2', 'H2']);
  }, 20_000);
});

describe('a quarantined use case revision', () => {
  const sandbox = mapperSandbox();
  afterAll(() => sandbox.close());
  const processorWith = (quarantine: Quarantine, sent: OutgoingMessage[], box = sandbox) =>
    new EventProcessor({
      view,
      mirror: { catchUp: async () => {} } as unknown as TopicMirror,
      producer: { send: async (m: OutgoingMessage[]) => void sent.push(...m) } as unknown as MessageProducer,
      logger: createLogger({ service: 'test', level: 'silent' }),
      sandbox: box,
      catchUpTimeoutMs: 1_000,
      quarantine,
    });

  it('is recorded on erp.mapper.quarantines with the event that quarantines it, which is parked', async () => {
    const sent: OutgoingMessage[] = [];
    const processor = processorWith(new Quarantine({ after: 2, windowMs: 60_000 }), sent);
    const slow = `${'a'.repeat(40)}!`;
    // As the consumer delivers it: the slow chunk yields while its first event runs to the deadline.
    const result = await deliver(processor, [
      message('slow-org', 'a', 'A1', slow),
      message('slow-org', 'a', 'A2', slow),
    ]);
    expect(result.codes).toEqual(['MAPPING_BUDGET_EXCEEDED']); // the first; the second is parked
    expect(sent.filter((m) => m.topic === Topics.parkedEvents)).toHaveLength(1);
    const records = sent.filter((m) => m.topic === Topics.quarantines);
    expect(records).toEqual([
      expect.objectContaining({
        key: 'u-slow-org@1',
        value: expect.objectContaining({
          org_id: 'slow-org',
          integration_id: 'i-slow-org',
          use_case_id: 'u-slow-org',
          revision: 1,
          code: 'USE_CASE_QUARANTINED',
          reason: expect.stringMatching(/2 events of this configuration \(revision 1\).*hard deadline/),
        }),
      }),
    ]);
  }, 30_000);

  it('parks an event whose use case was quarantined while it waited for a worker, without running it', async () => {
    const sent: OutgoingMessage[] = [];
    const processor = processorWith(new Quarantine({ after: 1, windowMs: 60_000 }), sent);
    const slow = `${'a'.repeat(40)}!`;
    const started = sandbox.started;
    // Two keys of one organisation: C1 runs to the deadline on the one worker it may use, C2 waits.
    const result = await deliver(processor, [
      message('slow-org', 'c1', 'C1', slow),
      message('slow-org', 'c2', 'C2', slow),
    ]);
    expect(result.codes).toEqual([]); // C1's hit quarantined the use case: both are parked
    expect(sent.filter((m) => m.topic === Topics.parkedEvents)).toHaveLength(2);
    // Only C1's worker was stopped at the deadline and replaced: C2 never ran.
    expect(sandbox.started - started).toBe(1);
  }, 30_000);

  it("parks an event mapped while its key's earlier event ran into the quarantine, instead of sending it first", async () => {
    // Two workers this organisation may use, so its key's second event maps while the first still runs
    // (decision 27); the first then quarantines the use case at its deadline.
    const wide = mapperSandbox(true);
    try {
      const sent: OutgoingMessage[] = [];
      const processor = processorWith(new Quarantine({ after: 1, windowMs: 60_000 }), sent, wide);
      const result = await deliver(processor, [
        message('slow-org', 'k', 'K1', `${'a'.repeat(40)}!`),
        message('slow-org', 'k', 'K2', 'b'),
      ]);
      expect(result.codes).toEqual([]);
      // K2 mapped quickly, but sending its update would put it before K1, which waits parked.
      expect(sent.filter((m) => m.topic === Topics.entityUpdates)).toEqual([]);
      expect(
        sent
          .filter((m) => m.topic === Topics.parkedEvents)
          .map((m) => (JSON.parse(String(m.value)) as { event_id: string }).event_id),
      ).toEqual(['evt_K1', 'evt_K2']);
    } finally {
      await wide.close();
    }
  }, 30_000);

  it('parks at once, without running it, when the quarantine came from another instance (or before a restart)', async () => {
    const sent: OutgoingMessage[] = [];
    const quarantine = new Quarantine({ after: 3, windowMs: 60_000 });
    quarantine.restore({
      orgId: 'slow-org',
      integrationId: 'i-slow-org',
      useCaseId: 'u-slow-org',
      revision: 1,
      since: '2026-12-06T08:00:00.000Z',
      reason: 'told by another instance',
    });
    const result = await processorWith(quarantine, sent).handleBatch(
      [message('slow-org', 'b', 'B1', `${'a'.repeat(40)}!`)],
      () => [],
    );
    expect(result.codes).toEqual([]);
    expect(sent.map((m) => m.topic).sort()).toEqual(
      [Topics.quarantines, Topics.parkedEvents, Topics.monitoringEvents].sort(),
    );
    expect(sent.find((m) => m.topic === Topics.quarantines)?.value).toMatchObject({
      since: '2026-12-06T08:00:00.000Z',
      reason: 'told by another instance',
    });
  });
});
