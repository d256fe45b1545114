import { type IncomingMessage, KafkaClient, TopicMirror } from '@hub/kafka';
import { createLogger } from '@hub/observability';

export interface TopicCollector {
  readonly messages: IncomingMessage[];
  /** Parsed JSON values of the messages matching `predicate`. */
  values<T = Record<string, unknown>>(predicate?: (value: T, message: IncomingMessage) => boolean): T[];
  stop(): Promise<void>;
}

/**
 * Reads a topic from the beginning in its own consumer group and keeps every message, for assertions.
 * Resolves once it holds what the topic held when called (`catchUpMs`, default 30 s: a long chaos run's
 * topic on a loaded machine needs more).
 */
export async function collectTopic(
  brokers: string[],
  topic: string,
  { catchUpMs = 30_000 }: { catchUpMs?: number } = {},
): Promise<TopicCollector> {
  // kafkajs warns of every refused connection while a test or the chaos run kills a broker: noise there.
  const logger = createLogger({ service: 'test-collector', level: process.env.TEST_LOG_LEVEL ?? 'error' });
  const client = new KafkaClient({ clientId: `test-collector`, brokers, logger });
  const messages: IncomingMessage[] = [];
  const mirror = new TopicMirror(client, { topic, logger, apply: (m) => messages.push(m) });
  await mirror.start(catchUpMs);
  return {
    messages,
    values(predicate) {
      const out = [];
      for (const m of messages) {
        if (!m.value) continue;
        const value = JSON.parse(m.value.toString('utf8'));
        if (!predicate || predicate(value, m)) out.push(value);
      }
      return out;
    },
    stop: () => mirror.stop(),
  };
}
