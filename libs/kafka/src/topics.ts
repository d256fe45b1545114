import { Topics } from '@hub/contracts';
import type { TopicSpec } from './client.js';

export interface TopicPlanSettings {
  /** Partitions of every keyed topic: the parallelism ceiling of each consumer group. */
  partitions: number;
  replicationFactor?: number | undefined;
  minInsyncReplicas?: number | undefined;
}

/**
 * Every topic of the hub with how it must be (issue 12): `npm run topics` creates or checks them, and
 * services started with `KAFKA_TOPICS=check` verify theirs against it. The configuration snapshots are
 * one compacted partition (their order is global); everything else is keyed and partitioned.
 */
export function topicPlan(settings: TopicPlanSettings): TopicSpec[] {
  const common = {
    ...(settings.replicationFactor ? { replicationFactor: settings.replicationFactor } : {}),
    ...(settings.minInsyncReplicas ? { minInsyncReplicas: settings.minInsyncReplicas } : {}),
  };
  return [
    { topic: Topics.inboundEvents, partitions: settings.partitions, ...common },
    { topic: Topics.entityUpdates, partitions: settings.partitions, ...common },
    { topic: Topics.entitiesProcessed, partitions: settings.partitions, ...common },
    { topic: Topics.deadLetters, partitions: settings.partitions, ...common },
    { topic: Topics.monitoringEvents, partitions: settings.partitions, ...common },
    { topic: Topics.configChanges, partitions: 1, compacted: true, ...common },
  ];
}

/** The plan's specs of the named topics (a service's own), in the plan's settings. */
export function plannedTopics(settings: TopicPlanSettings, topics: string[]): TopicSpec[] {
  return topicPlan(settings).filter((s) => topics.includes(s.topic));
}
