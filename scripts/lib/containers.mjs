// Where a Docker engine answers, `npm test` can run Kafka and MongoDB (the real images) with testcontainers
// instead of the Maven/Go-built local stack: HUB_INFRA=containers. Same ports as the local stack, so the
// services and tests need no other configuration. (Not exercised on the team's Docker-less machines.)
import { execFileSync } from 'node:child_process';

export function dockerAvailable() {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

export async function containersUp() {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafka = await new GenericContainer('apache/kafka:4.0.0')
    .withExposedPorts({ container: 9092, host: 9092 })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:9092',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const mongo = await new GenericContainer('mongo:7.0')
    .withExposedPorts({ container: 27017, host: 27017 })
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  return {
    async stop() {
      await Promise.all([kafka.stop(), mongo.stop()]);
    },
  };
}
