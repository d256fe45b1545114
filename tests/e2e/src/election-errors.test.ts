/**
 * Issue 18 item 4: what a replica set answers during an election, as the mongodb driver builds it, is
 * "unavailable" for the services: the HTTP servers (built as the gateway and the config API build theirs)
 * answer 503 with Retry-After, never 500; a consumer (configured as the writer's) waits it out on the real
 * broker without spending the message's bounded attempts. A refused write (a duplicate) stays a failure
 * of its own and is dead-lettered. The election itself, through the real driver, is the fault injector's
 * test; here are the errors the driver would hand us.
 */
import { createHttpServer } from '@hub/http';
import { BrokerUnavailableError, ConsumerRunner, KafkaClient, type PermanentError } from '@hub/kafka';
import { isUnavailableError } from '@hub/mongo';
import {
  commandError,
  duplicate,
  electionReplies,
  insertManyCutOff,
  insertManyError,
  majorityTimedOut,
  replicationInterrupted,
  writeConcernFailure,
} from '@hub/mongo/testing';
import { createLogger } from '@hub/observability';
import { eventually, resolveStack, uniqueName } from '@hub/testing';
import { describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'election-errors', level: 'fatal' });
const docs = [{ _id: 'a' }, { _id: 'b' }];

/** Each error a write can meet while a replica set elects a primary, as the driver throws it. */
const electionErrors = (): Array<[string, Error]> => [
  ['NotWritablePrimary (10107, RetryableWriteError)', commandError(electionReplies.notWritablePrimary)],
  ['InterruptedDueToReplStateChange (11602)', commandError(electionReplies.interrupted)],
  ['PrimarySteppedDown (189)', commandError(electionReplies.steppedDown)],
  ['ShutdownInProgress (91)', commandError(electionReplies.shuttingDown)],
  [
    'a write concern error on a write',
    writeConcernFailure({ ok: 1, n: 1, writeConcernError: majorityTimedOut }),
  ],
  [
    'a bulk insert: duplicates beside a write concern error',
    insertManyError(
      { ok: 1, n: 1, writeErrors: [duplicate(1, 'b')], writeConcernError: replicationInterrupted },
      docs,
    )!,
  ],
  ['a bulk insert refused by a stepped-down primary', insertManyError(electionReplies.steppedDown, docs)!],
  [
    'a bulk insert cut off with its connection',
    insertManyCutOff(docs, 'connection 7 to 10.0.0.3:27017 closed'),
  ],
];

describe('election errors', () => {
  it('are answered 503 with Retry-After by the HTTP servers, never 500', async () => {
    const app = createHttpServer({ logger, isUnavailable: isUnavailableError });
    const errors = electionErrors();
    app.get<{ Params: { n: string } }>('/write/:n', async (request) => {
      throw errors[Number(request.params.n)]![1];
    });
    app.get('/duplicate', async () => {
      throw insertManyError({ ok: 1, n: 1, writeErrors: [duplicate(1, 'b')] }, docs);
    });
    for (const [n, [what]] of errors.entries()) {
      const res = await app.inject({ method: 'GET', url: `/write/${n}` });
      expect(res.statusCode, what).toBe(503);
      expect(res.headers['retry-after'], what).toBe('5');
      expect(res.json().code, what).toBe('SERVICE_UNAVAILABLE');
    }
    // Not every database error is "retry later": a refused write without a write concern error is a bug.
    expect((await app.inject({ method: 'GET', url: '/duplicate' })).statusCode).toBe(500);
    await app.close();
  });

  it('are waited out by a consumer without spending attempts; a refused write is dead-lettered', async () => {
    const client = new KafkaClient({ clientId: 'election-errors', brokers: stack.kafkaBrokers, logger });
    const topic = uniqueName('election');
    await client.ensureTopics([{ topic, partitions: 1 }]);
    const producer = await client.producer();
    const errors = electionErrors();
    const attempts = new Map<string, number>();
    const processed: string[] = [];
    const deadLettered: Array<{ key: string; code: string }> = [];
    const consumer = new ConsumerRunner(client, {
      groupId: uniqueName('election-group'),
      topics: [topic],
      logger,
      retry: { initialMs: 5, maxMs: 10 },
      // As the entity-writer and the monitoring sink configure theirs.
      isUnavailable: (err) => isUnavailableError(err) || err instanceof BrokerUnavailableError,
      handler: async (message) => {
        const key = message.key!;
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'refused') throw insertManyError({ ok: 1, n: 0, writeErrors: [duplicate(0, 'a')] }, docs);
        // 3 rounds of every election error: 24 failures, more than the 10 attempts a message has.
        if (key === 'election' && n <= errors.length * 3) throw errors[(n - 1) % errors.length]![1];
        processed.push(key);
      },
      onPermanentFailure: async (message, error: PermanentError) => {
        deadLettered.push({ key: message.key!, code: error.code });
      },
      onFatal: () => undefined,
    });
    await consumer.start();
    try {
      await producer.send(['election', 'refused', 'last'].map((key) => ({ topic, key, value: { key } })));
      await eventually(
        async () => (processed.includes('last') ? true : undefined),
        60_000,
        'the last message',
      );
      expect(processed).toEqual(['election', 'last']);
      expect(attempts.get('election')).toBe(errors.length * 3 + 1);
      expect(deadLettered).toEqual([{ key: 'refused', code: 'RETRIES_EXHAUSTED' }]);
    } finally {
      await consumer.stop();
      await producer.close();
    }
  }, 90_000);
});
