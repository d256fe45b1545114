// HUB_INFRA=containers: `npm test` runs Kafka and MongoDB as containers (testcontainers) instead of the
// Maven/Go-built local stack, on the same ports, so the services and tests need no other configuration.
// MongoDB runs as a one-member replica set (`--replSet rs0`, initiated), so retryable writes, majority
// write concern and elections are those of production, with `enableTestCommands=1` for the fail point
// tests (`configureFailPoint`, `replSetStepDown`); Kafka runs the local stack's version.
// Written for machines with a Docker engine; never run on the team's Docker-less machines (README).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The Kafka version of the local stack (deploy/local/kafka/pom.xml), so both lanes run the same broker. */
export function kafkaVersion() {
  const pom = readFileSync(path.join(REPO, 'deploy/local/kafka/pom.xml'), 'utf8');
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m) throw new Error('deploy/local/kafka/pom.xml: no <kafka.version>');
  return m[1];
}

/** Why no container runtime can be used here (testcontainers' own detection), or undefined when one answers. */
export async function containerRuntimeProblem() {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Starts Kafka and the MongoDB replica set. Rejects, naming why, when no Docker engine answers: asked for
 * containers, the tests must not quietly run on something else.
 */
export async function containersUp({ kafkaPort = 9092, mongoPort = 27017 } = {}) {
  const problem = await containerRuntimeProblem();
  if (problem) {
    throw new Error(
      `HUB_INFRA=containers needs a Docker engine (or another runtime testcontainers can reach: DOCKER_HOST, a rootless or Podman socket), and none answers here: ${problem}. Unset HUB_INFRA to run on the local stack.`,
    );
  }
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafka = await new GenericContainer(`apache/kafka:${kafkaVersion()}`)
    .withExposedPorts({ container: kafkaPort, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: `PLAINTEXT://:${kafkaPort},CONTROLLER://:9093`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  // The member's host is the address the tests and services dial (the port is mapped to itself), so the
  // driver's replica-set discovery finds the same member it was given.
  const mongo = await new GenericContainer('mongo:8.0')
    .withCommand([
      '--replSet',
      'rs0',
      '--bind_ip_all',
      '--port',
      String(mongoPort),
      '--setParameter',
      'enableTestCommands=1',
    ])
    .withExposedPorts({ container: mongoPort, host: mongoPort })
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();
  const shell = (js) => mongo.exec(['mongosh', '--quiet', '--port', String(mongoPort), '--eval', js]);
  const initiated = await shell(
    `rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: '127.0.0.1:${mongoPort}' }] }).ok`,
  );
  if (initiated.exitCode !== 0) throw new Error(`rs.initiate failed: ${initiated.output}`);
  for (const deadline = Date.now() + 60_000; ; ) {
    const hello = await shell('db.hello().isWritablePrimary');
    if (hello.output.trim() === 'true') break;
    if (Date.now() > deadline) throw new Error(`the replica set elected no primary in 60 s: ${hello.output}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    /** For the tests: fail points go to the server itself (configureFailPoint, replSetStepDown). */
    env: { MONGO_FAILPOINTS: 'server', HUB_INFRA: 'containers' },
    async stop() {
      await Promise.all([kafka.stop(), mongo.stop()]);
    },
  };
}
