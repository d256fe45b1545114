/**
 * Issue 18, item 10: `HUB_INFRA=containers` without a container runtime refuses, naming why, instead of
 * quietly running the tests on the local stack. (Where a Docker engine answers, the lane itself runs
 * instead: Kafka at the local stack's version and a MongoDB replica set, scripts/lib/containers.mjs.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerRuntimeProblem, containersUp, kafkaVersion } from '../../../scripts/lib/containers.mjs';

const problem = await containerRuntimeProblem();

describe('the containers lane', () => {
  it('runs the Kafka version of the local stack', () => {
    const pom = readFileSync(new URL('../../../deploy/local/kafka/pom.xml', import.meta.url), 'utf8');
    expect(pom).toContain(`<kafka.version>${kafkaVersion()}</kafka.version>`);
    expect(kafkaVersion()).toMatch(/^4\.4\./);
  });

  it.skipIf(problem === undefined)('refuses without a Docker engine, naming why', async () => {
    await expect(containersUp()).rejects.toThrow(
      `HUB_INFRA=containers needs a Docker engine (or another runtime testcontainers can reach: DOCKER_HOST, a rootless or Podman socket), and none answers here: ${problem}`,
    );
  });
});
