/**
 * Issue 18 on a real MongoDB replica set: the containers lane (`HUB_INFRA=containers npm test`, a
 * one-member set started with `enableTestCommands=1`, scripts/lib/containers.mjs). The same failures as
 * mongo-failover.test.ts, made by MongoDB itself: `replSetStepDown` under load, and `configureFailPoint`
 * (`failCommand`) on the services' own commands. Skipped on the local stack (FerretDB), where
 * mongo-failover.test.ts runs them through the fault injector instead. NOT RUN on the team's machines
 * (no Docker engine): written to run where one answers.
 */
import { Headers, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { collectTopic, eventually, orgWithUseCase, resolveStack, type TopicCollector } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contacts, publishedChanges, startLoad } from './failover-load.js';

const onReplicaSet = process.env.MONGO_FAILPOINTS === 'server';
const stack = resolveStack();
let store: MongoStore;
let processed: TopicCollector;
let deadLetters: TopicCollector;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!onReplicaSet)('MongoDB replica set: failovers the server makes itself', () => {
  beforeAll(async () => {
    store = await MongoStore.connect({
      url: stack.mongoUrl,
      logger: createLogger({ service: 'replica-set-test', level: 'warn' }),
      appName: 'replica-set-test',
    });
    processed = await collectTopic(stack.kafkaBrokers, Topics.entitiesProcessed);
    deadLetters = await collectTopic(stack.kafkaBrokers, Topics.deadLetters);
  });
  afterAll(async () => {
    await failCommand('off').catch(() => undefined);
    await processed?.stop();
    await deadLetters?.stop();
    await store?.close();
  });

  const admin = (command: Record<string, unknown>) => store.client.db('admin').command(command);
  /** MongoDB's fail point; returns how often the previous one fired. */
  const failCommand = async (mode: unknown, data?: Record<string, unknown>) =>
    Number((await admin({ configureFailPoint: 'failCommand', mode, ...(data ? { data } : {}) })).count ?? 0);
  const processedOf = (org: string) => processed.values<ProcessedEntityMessage>((m) => m.org_id === org);
  const deadLettersOf = (org: string) => deadLetters.messages.filter((m) => m.headers[Headers.orgId] === org);

  it('replSetStepDown under load: 503 with Retry-After, never 500; nothing dead-lettered, lost or duplicated', async () => {
    const { api, integrationId, org } = await orgWithUseCase(stack, 'stepdown', contacts);
    const load = startLoad(api, integrationId, org);
    await sleep(3_000);
    // A one-member set needs `force`; the member may stand again after 5 s and elects itself.
    await admin({ replSetStepDown: 5, force: true }).catch(() => undefined); // may close our connection
    await sleep(12_000);
    const { last, statuses, wrong } = await load.stop();
    const { expected, published } = await publishedChanges(processed, org, last);
    console.info(`[stepdown] answers by status ${JSON.stringify(statuses)}`);
    expect(wrong).toEqual([]);
    expect(published.length).toBe(expected.length);
    expect(new Set(published)).toEqual(new Set(expected));
    expect(deadLettersOf(org)).toEqual([]);
  }, 90_000);

  it("a write concern error on the writer's insert: published once, after a retry, entity correct", async () => {
    const { send, org } = await orgWithUseCase(stack, 'rs-wce', contacts);
    await failCommand(
      { times: 1 },
      {
        failCommands: ['insert'],
        appName: 'entity-writer',
        writeConcernError: {
          code: 64,
          errmsg: 'waiting for replication timed out',
          errInfo: { wtimeout: true },
        },
      },
    );
    await send({ customer_id: 'X', seq: 1, name: 'X one' });
    await eventually(async () => (processedOf(org).length > 0 ? true : undefined), 45_000, 'processed X');
    await sleep(2_000);
    expect(await failCommand('off')).toBe(1);
    expect(processedOf(org).map((p) => [p.action, p.entity.customer_number, p.entity.seq])).toEqual([
      ['created', 'X', 1],
    ]);
    expect(deadLettersOf(org)).toEqual([]);
  }, 60_000);

  it('one NotWritablePrimary on a write is retried by the driver: the request succeeds', async () => {
    const { send, org } = await orgWithUseCase(stack, 'rs-retry', contacts);
    for (const appName of ['ingest-gateway', 'entity-writer']) {
      await failCommand({ times: 1 }, { failCommands: ['insert'], appName, errorCode: 10107 });
      await send({ customer_id: `R-${appName}`, seq: 1, name: appName }); // throws unless `success`
      await eventually(
        async () =>
          processedOf(org).some((p) => p.entity.customer_number === `R-${appName}`) ? true : undefined,
        30_000,
        `processed R-${appName}`,
      );
      expect(await failCommand('off')).toBe(1);
    }
    expect(deadLettersOf(org)).toEqual([]);
  }, 60_000);
});
