/** The Kafka version of the local stack (deploy/local/kafka/pom.xml). */
export function kafkaVersion(): string;
/** Why no container runtime can be used here, or undefined when one answers. */
export function containerRuntimeProblem(): Promise<string | undefined>;
/** Kafka and a MongoDB replica set as containers; rejects naming why when no Docker engine answers. */
export function containersUp(ports?: { kafkaPort?: number; mongoPort?: number }): Promise<{
  env: Record<string, string>;
  stop(): Promise<void>;
}>;
