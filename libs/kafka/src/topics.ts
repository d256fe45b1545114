import { Topics } from '@hub/contracts';
import type { KafkaClient, TopicSpec, TopicsMode } from './client.js';

export interface TopicPlanSettings {
  /** Partitions of every keyed topic: the parallelism ceiling of each consumer group. */
  partitions: number;
  replicationFactor?: number | undefined;
  minInsyncReplicas?: number | undefined;
}

/**
 * Every topic of the hub with how it must be (issue 12): `npm run topics` creates or checks them, and
 * services started with `KAFKA_TOPICS=check` verify theirs against it. The configuration snapshots are
 * one compacted partition (their order is global), and so are the quarantined use cases; everything else is keyed and partitioned.
 */
export function topicPlan(settings: TopicPlanSettings): TopicSpec[] {
  const common = {
    ...(settings.replicationFactor ? { replicationFactor: settings.replicationFactor } : {}),
    ...(settings.minInsyncReplicas ? { minInsyncReplicas: settings.minInsyncReplicas } : {}),
  };
  return [
    { topic: Topics.inboundEvents, partitions: settings.partitions, ...common },
    { topic: Topics.parkedEvents, partitions: settings.partitions, ...common },
    { topic: Topics.entityUpdates, partitions: settings.partitions, ...common },
    { topic: Topics.entitiesProcessed, partitions: settings.partitions, ...common },
    { topic: Topics.deadLetters, partitions: settings.partitions, ...common },
    { topic: Topics.monitoringEvents, partitions: settings.partitions, ...common },
    { topic: Topics.configChanges, partitions: 1, compacted: true, ...common },
    // The quarantined use case revisions (ADR 0015, decision 13): few, mirrored whole by every reader.
    { topic: Topics.quarantines, partitions: 1, compacted: true, ...common },
  ];
}

/** The plan's specs of the named topics (a service's own), in the plan's settings. */
export function plannedTopics(settings: TopicPlanSettings, topics: string[]): TopicSpec[] {
  return topicPlan(settings).filter((s) => topics.includes(s.topic));
}

/** The topic settings of a service's configuration (KafkaEnv of libs/config). */
export interface TopicEnv {
  KAFKA_TOPIC_PARTITIONS: number;
  KAFKA_REPLICATION_FACTOR?: number | undefined;
  KAFKA_MIN_INSYNC_REPLICAS?: number | undefined;
  KAFKA_TOPICS: TopicsMode;
}

/** At boot: a service's own topics, created or only checked (`KAFKA_TOPICS`) against the plan. */
export function prepareOwnTopics(kafka: KafkaClient, config: TopicEnv, owned: TopicSpec[]): Promise<void> {
  const settings = {
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
  };
  return kafka.prepareTopics(
    plannedTopics(
      settings,
      owned.map((t) => t.topic),
    ),
    config.KAFKA_TOPICS,
  );
}
