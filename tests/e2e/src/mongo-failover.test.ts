/**
 * Issue 18: what MongoDB sends at a failover, through the real driver, on a stack of its own whose services
 * reach FerretDB through the fault injector of libs/testing (a replica set primary that can fail as
 * MongoDB does: elections, write concern errors, retryable errors). Real Kafka, real FerretDB, the real
 * services as processes.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Headers, type ProcessedEntityMessage, Topics } from '@hub/contracts';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import {
  collectTopic,
  eventually,
  ManagedStack,
  type MongoFaultInjector,
  orgWithUseCase,
  resolveStack,
  type StackEndpoints,
  type TopicCollector,
} from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contacts, publishedChanges, startLoad } from './failover-load.js';

// Its own ports (below the ephemeral range), apart from the chaos (21xxx), bench (22xxx) and fuzz stacks.
const ports = { base: 24600, kafka: 24620, controller: 24621, mongo: 24630 };
const INJECTOR_PORT = 24640;

let stack: ManagedStack;
let endpoints: StackEndpoints;
let injector: MongoFaultInjector;
let processed: TopicCollector;
let deadLetters: TopicCollector;
let store: MongoStore;

beforeAll(async () => {
  stack = new ManagedStack({
    name: 'e2e-failover',
    ports,
    mongoInjectorPort: INJECTOR_PORT,
    env: { RATE_LIMIT_PER_MINUTE: '1000000', SHUTDOWN_TIMEOUT_MS: '10000' },
  });
  await stack.start();
  injector = stack.injector;
  endpoints = {
    ...resolveStack(),
    baseUrl: stack.baseUrl,
    kafkaBrokers: stack.brokers,
    mongoUrl: stack.mongoUrl,
    authSecret: stack.authSecret,
    authIssuer: stack.authIssuer,
    authAudience: stack.authAudience,
  };
  processed = await collectTopic(stack.brokers, Topics.entitiesProcessed);
  deadLetters = await collectTopic(stack.brokers, Topics.deadLetters);
  store = await MongoStore.connect({
    url: stack.mongoUrl, // FerretDB itself, not through the injector
    logger: createLogger({ service: 'failover-test', level: 'warn' }),
    appName: 'failover-test',
  });
}, 240_000);

afterAll(async () => {
  await processed?.stop();
  await deadLetters?.stop();
  await store?.close();
  await stack?.close();
}, 120_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The processed-entity messages of an organisation. */
const processedOf = (org: string) =>
  processed.values<ProcessedEntityMessage>((m) => m.org_id === org && m.entity_schema === 'contact');

const deadLettersOf = (org: string) => deadLetters.messages.filter((m) => m.headers[Headers.orgId] === org);

async function storedContacts(org: string) {
  return store
    .collection<{
      _id: string;
      _org: string;
      _schema: string;
      customer_number: string;
      seq: number;
      name: string;
    }>('entities')
    .find({ _org: org, _schema: 'contact' })
    .toArray();
}

/** Where a service's log file has got to, and the lines written after that. */
function logFrom(service: string) {
  const file = path.join(stack.logDir, `${service}-0.log`);
  const start = statSync(file).size;
  return () =>
    readFileSync(file, 'utf8')
      .slice(start)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: string; msg: string; err?: { message?: string } });
}

describe('MongoDB failures through the real driver (fault injector in front of FerretDB)', () => {
  // Two 5 s elections under load. First a stepdown: `hello` says secondary at once, so drivers wait for a
  // primary and only the commands already on their way are refused. Then an election behind a mongos (a
  // shard of a sharded cluster, or a primary slow to notice): the server the driver talks to still looks
  // writable, so every write and primary read is refused for 5 s and the services see the errors.
  it('5 s elections under load: 503 with Retry-After, never 500; nothing dead-lettered, lost or duplicated', async () => {
    const { api, integrationId, org } = await orgWithUseCase(endpoints, 'election', contacts);
    injector.resetStats();
    const load = startLoad(api, integrationId, org);
    await sleep(3_000);
    await injector.election({ seconds: 5 });
    await sleep(2_000);
    await injector.election({ seconds: 5, hello: 'primary' });
    await sleep(3_000);
    const { last, statuses, wrong } = await load.stop();
    const { expected, published } = await publishedChanges(processed, org, last);

    console.info(
      `[elections] answers by status ${JSON.stringify(statuses)}; injector ${JSON.stringify(injector.stats)}`,
    );
    expect(injector.stats.refusedByElection).toBeGreaterThan(0); // the elections reached the services
    expect(wrong).toEqual([]);
    expect(statuses['500']).toBeUndefined();
    expect(published.length).toBe(expected.length); // 0 duplicated
    expect(new Set(published)).toEqual(new Set(expected)); // 0 lost
    expect(deadLettersOf(org)).toEqual([]);
    const stored = await storedContacts(org);
    expect(stored.map((e) => [e.customer_number, e.seq]).sort()).toEqual(
      [...last].map(([c, n]) => [c, n]).sort(),
    );
  }, 90_000);

  it("a write concern error beside a duplicate on the writer's insert: not published before a retry, entity correct", async () => {
    const { send, org } = await orgWithUseCase(endpoints, 'wce', contacts);
    // Warm up: the organisation's key set and the groups' partitions are in place.
    await send({ customer_id: 'W', seq: 1, name: 'warm' });
    await eventually(async () => (processedOf(org).length === 1 ? true : undefined), 30_000, 'warm-up');
    injector.resetStats();

    // The writer's insert of the new entity is held 2 s; meanwhile "another writer" stores the same entity
    // (the race ADR 9 settles on `_id`); then the insert runs, meets that duplicate, and its answer carries
    // a write concern error: the insert may be rolled back by a failover, so nothing may be published yet.
    let raced: Promise<unknown> | undefined;
    injector.onCommand = (seen) => {
      if (
        raced ||
        seen.appName !== 'entity-writer' ||
        seen.command !== 'insert' ||
        seen.collection !== 'entities'
      )
        return;
      const { body, sequences } = seen.message();
      const docs = (sequences.find((s) => s.identifier === 'documents')?.documents ??
        body.documents) as Array<Record<string, unknown>>;
      raced = store.collection('entities').insertOne(docs[0]!);
    };
    injector.failCommand({
      mode: { times: 1 },
      data: {
        failCommands: ['insert'],
        appName: 'entity-writer',
        collection: 'entities',
        blockConnection: true,
        blockTimeMS: 2_000,
        writeConcernError: {
          code: 64,
          codeName: 'WriteConcernFailed',
          errmsg: 'waiting for replication timed out',
          errInfo: { wtimeout: true },
        },
      },
    });
    try {
      await send({ customer_id: 'X', seq: 1, name: 'X one' });
      const [message] = await eventually(
        async () => {
          const m = processedOf(org).filter((p) => p.entity.customer_number === 'X');
          return m.length > 0 ? m : undefined;
        },
        45_000,
        'the processed message of X',
      );
      await raced;
      await sleep(2_000);
      expect(injector.stats.writeConcernErrors).toBe(1);
      const wceAt = injector.journal.find((j) => j.outcome === 'writeConcernError')!.at;
      // The writer read the entity again after the write concern error (its retry) ...
      const reread = injector.journal.find(
        (j) =>
          j.at > wceAt &&
          j.appName === 'entity-writer' &&
          j.command === 'find' &&
          j.collection === 'entities',
      );
      expect(reread).toBeDefined();
      // ... and published only once, after that retry (the message's own timestamp is the writer's clock).
      const published = processed.messages.filter((m) => {
        const v = m.value ? (JSON.parse(m.value.toString('utf8')) as ProcessedEntityMessage) : undefined;
        return v?.org_id === org && v.entity.customer_number === 'X';
      });
      expect(published).toHaveLength(1);
      expect(Number(published[0]!.timestamp)).toBeGreaterThanOrEqual(reread!.at);
      expect(message!.action).toBe('created');
      const stored = (await storedContacts(org)).filter((e) => e.customer_number === 'X');
      expect(stored.map((e) => [e.seq, e.name])).toEqual([[1, 'X one']]);
      expect(deadLettersOf(org)).toEqual([]);
    } finally {
      injector.onCommand = undefined;
      injector.failCommand({ mode: 'off' });
    }
  }, 90_000);

  it('one NotWritablePrimary with RetryableWriteError on a write is retried by the driver, unseen by the services', async () => {
    const { send, org } = await orgWithUseCase(endpoints, 'retryable', contacts);
    await send({ customer_id: 'R0', seq: 1, name: 'warm' });
    await eventually(async () => (processedOf(org).length === 1 ? true : undefined), 30_000, 'warm-up');
    const gatewayLog = logFrom('ingest-gateway');
    const writerLog = logFrom('entity-writer');
    for (const appName of ['ingest-gateway', 'entity-writer']) {
      injector.failCommand({
        mode: { times: 1 },
        data: { failCommands: ['insert'], appName, errorCode: 10107, errorLabels: ['RetryableWriteError'] },
      });
      // Answered `success` (orgWithUseCase's send throws on anything else: a 500 or a 503).
      await send({ customer_id: `R-${appName}`, seq: 1, name: appName });
      await eventually(
        async () =>
          processedOf(org).some((p) => p.entity.customer_number === `R-${appName}`) ? true : undefined,
        30_000,
        `processed R-${appName}`,
      );
      expect(injector.failPointEntered).toBe(1);
    }
    injector.failCommand({ mode: 'off' });
    const complaints = [...gatewayLog(), ...writerLog()].filter((l) =>
      ['warn', 'error', 'fatal'].includes(l.level),
    );
    expect(complaints.map((l) => `${l.msg}: ${l.err?.message ?? ''}`)).toEqual([]);
    expect(processedOf(org)).toHaveLength(3);
    expect(deadLettersOf(org)).toEqual([]);
  }, 60_000);
});
