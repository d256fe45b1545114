import { randomUUID } from 'node:crypto';
import { Topics } from '@hub/contracts';
import { KafkaClient } from '@hub/kafka';
import { createLogger } from '@hub/observability';

/**
 * Follows `erp.entities.processed` from the beginning in a group of its own and keeps only, per source
 * event id, when its first processed-entity message arrived here (memory stays bounded by the events
 * sent). Started before any load, stopped before the steps that pre-fill thousands of entities; started
 * again for the history step with `fromBeginning: false` (only what arrives from then on).
 */
export class ProcessedWatch {
  readonly arrivals = new Map<string, number>();
  private constructor(private readonly stopConsumer: () => Promise<void>) {}

  static async start(brokers: string[], { fromBeginning = true } = {}): Promise<ProcessedWatch> {
    const logger = createLogger({ service: 'bench-processed', level: 'warn' });
    const client = new KafkaClient({ clientId: 'bench-processed', brokers, logger });
    const consumer = client.kafka.consumer({
      groupId: `bench-processed-${randomUUID()}`,
      maxWaitTimeInMs: 50,
      sessionTimeout: 30_000,
    });
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topic: Topics.entitiesProcessed, fromBeginning });
    const watch = new ProcessedWatch(() => consumer.disconnect());
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        const eventId = (JSON.parse(message.value.toString('utf8')) as { source?: { event_id?: string } })
          .source?.event_id;
        if (eventId && !watch.arrivals.has(eventId)) watch.arrivals.set(eventId, Date.now());
      },
    });
    await joined;
    return watch;
  }

  stop(): Promise<void> {
    return this.stopConsumer();
  }
}
