import { KafkaClient, type MessageProducer, type OutgoingMessage } from '@hub/kafka';
import { createLogger } from '@hub/observability';
import type { ManagedStack, ServiceName } from '@hub/testing';
import { customerNumber, entityUpdateMessage, inboundMessage, type Target } from './fixtures.js';
import { perSecond, progressWindow, type Sample } from './stats.js';

export const MAPPED = 'hub_mapped_events_total';
export const WRITES = 'hub_entity_writes_total';
const LAG = 'hub_consumer_lag';
const CHUNK = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AloneResult {
  count: number;
  ms: number;
  perSecond: number;
}

/** A producer for pre-filling topics (the services' own: idempotent, acks=all). */
export async function prefillProducer(
  brokers: string[],
): Promise<{ producer: MessageProducer; close: () => Promise<void> }> {
  const logger = createLogger({ service: 'bench-prefill', level: 'error' });
  const producer = await new KafkaClient({ clientId: 'bench-prefill', brokers, logger }).producer();
  return { producer, close: () => producer.close() };
}

/** Produces `count` messages made by `make(i)`, CHUNK at a time. */
export async function produce(
  producer: MessageProducer,
  count: number,
  make: (i: number) => OutgoingMessage | Promise<OutgoingMessage>,
): Promise<void> {
  for (let from = 0; from < count; from += CHUNK) {
    const size = Math.min(CHUNK, count - from);
    await producer.send(await Promise.all(Array.from({ length: size }, (_, i) => make(from + i))));
  }
}

/**
 * Times an instance that was just started (its counters start at 0): polls `metric` every `everyMs` until
 * it reaches `count`, and returns the work and time from the last reading before it moved (start-up and
 * consumer-group join excluded).
 */
export async function timeCounter(
  stack: ManagedStack,
  service: ServiceName,
  metric: string,
  count: number,
  timeoutMs: number,
  everyMs = 100,
): Promise<AloneResult> {
  const samples: Sample[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    samples.push({ at: Date.now(), value: await stack.counter(service, 0, metric) });
    const window = progressWindow(samples, count);
    if (window) return { ...window, perSecond: perSecond(window.count, window.ms) };
    if (Date.now() > deadline) {
      throw new Error(
        `${service}: ${metric} reached ${samples.at(-1)!.value} of ${count} within ${timeoutMs} ms`,
      );
    }
    await sleep(everyMs);
  }
}

/** Starts again what a step stopped (the mapper and the writer, instance 0), whatever the step did. */
export async function restore(stack: ManagedStack): Promise<void> {
  for (const name of ['mapper', 'entity-writer'] as const) {
    if (!stack.running(name).includes(0)) await stack.startInstance(name, 0);
  }
}

/**
 * Writer alone: with the writer stopped, `count` entity updates of the pool's customers (as the mapper
 * makes them) are produced to `erp.entity.updates`; the writer is started and timed until it applied them.
 */
export async function writerAlone(
  stack: ManagedStack,
  producer: MessageProducer,
  target: Target,
  plan: { count: number; customers: number; random: () => number; timeoutMs: number },
): Promise<AloneResult> {
  await stack.stop('entity-writer');
  try {
    await produce(producer, plan.count, (i) =>
      entityUpdateMessage(target, customerNumber(Math.floor(plan.random() * plan.customers)), 1_000_000 + i),
    );
    await stack.startInstance('entity-writer', 0);
    return await timeCounter(stack, 'entity-writer', WRITES, plan.count, plan.timeoutMs);
  } finally {
    await restore(stack);
  }
}

/**
 * Mapper alone: with the mapper and the writer stopped, `count` inbound-event messages of one use case
 * are produced to `erp.inbound.events`; the mapper is started and timed until it mapped them. Then the
 * writer is started again and given the time to apply what the mapper produced (not timed).
 */
export async function mapperAlone(
  stack: ManagedStack,
  producer: MessageProducer,
  target: Target,
  plan: { count: number; customers: number; revision: number; random: () => number; timeoutMs: number },
): Promise<AloneResult> {
  await stack.stop('entity-writer');
  await stack.stop('mapper');
  try {
    await produce(producer, plan.count, (i) =>
      inboundMessage(
        target,
        customerNumber(Math.floor(plan.random() * plan.customers)),
        2_000_000 + i,
        plan.revision,
      ),
    );
    await stack.startInstance('mapper', 0);
    const result = await timeCounter(stack, 'mapper', MAPPED, plan.count, plan.timeoutMs);
    await stack.startInstance('entity-writer', 0);
    await timeCounter(stack, 'entity-writer', WRITES, plan.count, plan.timeoutMs);
    return result;
  } finally {
    await restore(stack);
  }
}

/**
 * Growth: the writer's upserts/s on updates of existing entities chosen at random, with `sizes[0]` and
 * then `sizes[1]` entities stored. The entities are created through the writer (creates pre-filled on
 * `erp.entity.updates` while it runs), never written to the database directly.
 */
export async function growth(
  stack: ManagedStack,
  producer: MessageProducer,
  target: Target,
  plan: { sizes: [number, number]; updates: number; random: () => number; timeoutMs: number },
  log: (msg: string) => void,
): Promise<Array<AloneResult & { stored: number; fillMs: number }>> {
  const results: Array<AloneResult & { stored: number; fillMs: number }> = [];
  let stored = 0;
  for (const size of plan.sizes) {
    const fillStarted = Date.now();
    const adding = size - stored;
    const base = await stack.counter('entity-writer', 0, WRITES);
    await produce(producer, adding, (i) => entityUpdateMessage(target, customerNumber(stored + i), 1));
    await waitCounter(stack, WRITES, base + adding, plan.timeoutMs + adding * 100, log);
    stored = size;
    const fillMs = Date.now() - fillStarted;
    log(`growth: ${stored} entities stored through the writer (${(fillMs / 1000).toFixed(1)} s)`);
    const timed = await writerAlone(stack, producer, target, {
      count: plan.updates,
      customers: stored,
      random: plan.random,
      timeoutMs: plan.timeoutMs,
    });
    results.push({ ...timed, stored, fillMs });
  }
  return results;
}

/**
 * Waits until the mapper, the writer and the config-service (its monitoring sink and configuration
 * consumers) have nothing left to consume (their `hub_consumer_lag`, measured at each scrape, is 0 twice
 * in a row), so that a step starts on an idle pipeline. The sink counts: a step must not pay for the
 * previous one's monitoring records (three per event) being stored meanwhile.
 */
export async function waitIdle(stack: ManagedStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let idle = 0; idle < 2; ) {
    const lag =
      (await stack.counter('mapper', 0, LAG)) +
      (await stack.counter('entity-writer', 0, LAG)) +
      (await stack.counter('config-service', 0, LAG));
    idle = lag === 0 ? idle + 1 : 0;
    if (lag > 0 && Date.now() > deadline)
      throw new Error(`the pipeline still lags ${lag} messages after ${timeoutMs} ms`);
    await sleep(500);
  }
}

async function waitCounter(
  stack: ManagedStack,
  metric: string,
  value: number,
  timeoutMs: number,
  log: (msg: string) => void,
) {
  const deadline = Date.now() + timeoutMs;
  for (let said = Date.now(); ; ) {
    const now = await stack.counter('entity-writer', 0, metric);
    if (now >= value) return;
    if (Date.now() > deadline)
      throw new Error(`the writer applied ${now} of ${value} within ${timeoutMs} ms`);
    if (Date.now() - said > 30_000) {
      log(`growth: the writer is at ${now} of ${value}`);
      said = Date.now();
    }
    await sleep(1_000);
  }
}
