import type { Logger } from '@hub/observability';
import type { Consumer, EachBatchPayload, EachMessagePayload, KafkaMessage } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { KafkaClient } from './client.js';
import { fromHeaders } from './client.js';
import { type ConsumerInstrumentation, inMessageTrace, instrumentConsumer } from './instrumentation.js';

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/** A kafkajs record as our code sees it (key as text, headers as strings). */
export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key ? message.key.toString('utf8') : null,
    value: message.value,
    headers: fromHeaders(message.headers),
    timestamp: message.timestamp,
  };
}

export type MessageHandler = (message: IncomingMessage, attempt: number) => Promise<void>;

/** How `onPermanentFailure` is to record a failure (see ConsumerSettings). */
export interface DeadLetterForm {
  /**
   * Set when the whole record could not be written (the broker refused it as too large, or kept refusing
   * it): write the pointer form instead, without the original value, with this reason.
   */
  omitValue?: string;
}

/**
 * Handles consecutive messages of one partition (offset order) at once. It must make every output of
 * every message durable before it returns (one produce request for the batch), including the dead
 * letters of messages that can never succeed. It must be harmless to run again on the same messages:
 * when it throws, the runner handles those messages again one at a time with the `MessageHandler`
 * (retries with backoff, dead letters), so one bad message cannot hold its batch back for long. It may
 * take only the first n messages (returning n): they are committed, and the rest come in the next call.
 */
export type BatchHandler = (
  messages: IncomingMessage[],
  context: BatchContext,
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that takes every message returns nothing
) => Promise<number | void | BatchYield>;

/** What a batch handler may call while it works. */
export interface BatchContext {
  /**
   * Tells the group this member is alive (kafkajs sends a heartbeat at most every heartbeat interval, so
   * calling it often costs nothing). A handler whose chunk can take longer than the session timeout (the
   * monitoring sink's first chunk of a partition reads what is stored) calls it between its steps, else
   * the group drops the member and hands its partitions over, and its commit fails. Never throws: a
   * rebalance it meets ends the batch after the chunk, as between chunks.
   */
  heartbeat(): Promise<void>;
}

/**
 * A batch handler's answer when some of the chunk's messages are still in progress (the mapper's events
 * that run long): the first `taken` (0 or more) are committed, the batch ends there, and the partition is
 * paused until `resumeAfter` settles; then the messages from the first one not taken are fetched again.
 * Other partitions are fetched meanwhile: one slow chunk does not hold the consumer's next fetch, which
 * waits for every partition's handler (ADR 0015, decision 19).
 */
export interface BatchYield {
  taken: number;
  resumeAfter: Promise<unknown>;
}

/** The broker could not be read or written in time (e.g. a mirror that cannot catch up): wait for it. */
export class BrokerUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerUnavailableError';
  }
}

/** An error that no retry can fix (bad payload, expression failure, ambiguous lookup): dead-letter it at once. */
export class PermanentError extends Error {
  constructor(
    readonly code: string,
    readonly category: 'validation' | 'mapping' | 'lookup' | 'configuration' | 'internal',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

export interface ConsumerSettings {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  handler: MessageHandler;
  /** The fast path: a partition's fetched messages in chunks of up to `maxBatchSize` (see BatchHandler). */
  batchHandler?: BatchHandler;
  /** Largest chunk given to `batchHandler`. Default 500. */
  maxBatchSize?: number;
  /**
   * What each fetch of a batch consumer asks the broker for: at least `minBytes`, waiting up to `maxWaitMs`
   * for them (the broker answers as soon as either is reached). Default `BATCH_FETCH` (32 KiB or 50 ms,
   * ADR 9): the pipeline's consumers, whose every wait is an event's latency. A consumer whose output no
   * event waits for (the monitoring sink, `MONITORING_FETCH`) asks for more, for fewer and fuller batches.
   */
  fetch?: { minBytes: number; maxWaitMs: number };
  /**
   * Called once for a message whose handler threw a PermanentError (or a non-PermanentError after
   * `maxTransientAttempts`); must durably record it (dead-letter topic, monitoring). Only then is the
   * offset committed. If it throws because a dependency is unavailable, the message is retried like a
   * transient failure, without limit. If the record is refused (the broker says it is too large, or it
   * fails `maxTransientAttempts` times for another reason), it is called again at once with
   * `form.omitValue`: it must then write the smaller pointer form (the original's topic, partition,
   * offset and the reason, without its value), so the partition always moves on.
   */
  onPermanentFailure: (
    message: IncomingMessage,
    error: PermanentError,
    attempts: number,
    form: DeadLetterForm,
  ) => Promise<void>;
  /** Called when the consume loop dies for good; the service should log and exit. */
  onFatal: (error: unknown) => void;
  /** Capped exponential backoff for transient failures. */
  retry?: { initialMs: number; maxMs: number };
  /**
   * A message still failing after this many attempts is dead-lettered (`RETRIES_EXHAUSTED`): a failure
   * that keeps happening is deterministic (a value the database refuses, a bug), and must not block its
   * partition. Default 10 (about a minute of backoff). Failures that say a dependency is down
   * (`isUnavailable`) are retried for as long as it takes instead.
   */
  maxTransientAttempts?: number;
  /**
   * Whether an error means a dependency is unreachable (the database, the broker): such a message is
   * retried with backoff without limit, the partition waiting for the dependency to come back. Default:
   * the broker's retriable connection errors (`isBrokerUnavailable`).
   */
  isUnavailable?: (error: unknown) => boolean;
  partitionsConsumedConcurrently?: number;
  /**
   * How long the group waits for a member that stopped heartbeating (a killed instance) before its
   * partitions move to the others. Default 15 s: a crash costs about that much latency on its partitions.
   */
  sessionTimeoutMs?: number;
  /**
   * How long one handler call may run with this member kept in its group: the runner heartbeats for it
   * meanwhile (kafkajs heartbeats only between calls), so a call slowed by its dependencies (a send that
   * waits out a broker restart) does not lose its partitions to another member, which would apply the
   * same messages while this call's send is still on its way (the chaos run's duplicated processed
   * messages, issue 22). Past this, a call is taken for hung: the runner stops heartbeating for it and the
   * group moves its partitions after the session timeout. Default 120 s (kafkajs sends give up within
   * about 45 s). A handler may still call its context's `heartbeat` itself.
   */
  maxHandlerMs?: number;
  /**
   * How long the consumer keeps restarting itself after a crash (the broker unreachable past the client's
   * retries) without progress before it reports the crash to `onFatal`. Default 5 minutes.
   */
  restartWindowMs?: number;
  /**
   * Told each time the consumer has joined its group (at the start and after every rebalance), before it
   * handles a message of its new assignment: what the handler knew of its partitions may be out of date,
   * since another member may have had them meanwhile.
   */
  onGroupJoin?: () => void;
  logger: Logger;
  /**
   * Where to register the consumer metrics (handler duration, message age, retries, outcomes, lag per
   * partition measured at scrape); see instrumentation.ts. Spans are made either way.
   */
  metrics?: Registry;
}

export interface ConsumerHealth {
  /** The consume loop made progress (a fetch or a message) recently. */
  alive: boolean;
  /** Joined its group and not stopping. */
  ready: boolean;
  lastProgressAt: number;
}

/** Attempts at a message (not counting waits for an unavailable dependency) before it is dead-lettered. */
const DEFAULT_MAX_ATTEMPTS = 10;
/** How often kafkajs heartbeats at most, and how often the runner heartbeats for a handler call that runs. */
const HEARTBEAT_INTERVAL_MS = 3_000;

/** kafkajs errors that mean the broker cannot be reached now (retried by the client, then given up). */
const BROKER_DOWN = new Set([
  'BrokerUnavailableError',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

/**
 * Whether an error (or what it wraps) says the broker is unreachable or not ready (a retriable kafkajs
 * error): worth waiting for, not a fault of the message. A refused message (`MESSAGE_TOO_LARGE`, an
 * unknown topic) is not retriable and so not "unavailable".
 */
export function isBrokerUnavailable(error: unknown): boolean {
  for (
    let e = error as
        | { name?: string; retriable?: boolean; originalError?: unknown; cause?: unknown }
        | undefined,
      depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (
      typeof e.name === 'string' &&
      (BROKER_DOWN.has(e.name) || (e.name.startsWith('KafkaJS') && e.retriable === true))
    )
      return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return false;
}

/** Broker refusals of a record that no retry can fix: it is too large for the topic or the request. */
const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/** The broker's refusal of a record for its size (or shape) in an error's chain, e.g. `MESSAGE_TOO_LARGE`. */
export function recordRefusal(error: unknown): string | undefined {
  for (
    let e = error as { type?: string; originalError?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.type === 'string' && TOO_LARGE.has(e.type)) return e.type;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return undefined;
}

/** A batch consumer's fetch (ADR 9): at least 32 KiB, or whatever is there after 50 ms. */
export const BATCH_FETCH = { minBytes: 32 * 1024, maxWaitMs: 50 } as const;

/**
 * The monitoring sink's fetch (ADR 19, amended for issue 22): at least 1 MiB, or whatever is there after
 * 500 ms. Its records are only read by the monitoring operations, so they may take half a second longer
 * to be stored; at the benchmark's half rate the sink's small batches (about 20 records each) made two
 * database commands each, as many as the entity-writer's, in the same database.
 */
export const MONITORING_FETCH = { minBytes: 1024 * 1024, maxWaitMs: 500 } as const;

/** kafkajs's names for a batch consumer's fetch. */
const fetchOptions = (f: { minBytes: number; maxWaitMs: number }) => ({
  minBytes: f.minBytes,
  maxWaitTimeInMs: f.maxWaitMs,
});

/** Attempts at a batch before its messages are handled one at a time. */
const BATCH_ATTEMPTS = 5;

/** How long a consumer keeps restarting itself without progress before it reports a fatal crash. */
const RESTART_WINDOW_MS = 5 * 60_000;

class StoppingError extends Error {
  constructor() {
    super('consumer is stopping');
  }
}

/**
 * Runs a consumer group member: at-least-once (the offset is committed only after the handler's work
 * is durable), transient failures retried in place with capped backoff, permanent failures handed to
 * `onPermanentFailure` so the partition moves on.
 */
export class ConsumerRunner {
  private consumer: Consumer | undefined;
  private stopping = false;
  private joined = false;
  private lastProgressAt = Date.now();
  private readonly log: Logger;
  private readonly settings: ConsumerSettings;
  private readonly instrumentation: ConsumerInstrumentation;
  private stopLagReport: (() => Promise<void>) | undefined;
  /**
   * Set when a commit failed and no later one has succeeded: no message is handled until one does
   * (`commit`). kafkajs fetches on from where the handler got to, not from the committed offsets, so
   * without this barrier the handler ran on for as long as the group coordinator was away (about 20 s
   * while a broker restarted) and the rejoin handed all of it over again: more than the 20 changes per
   * entity the writer recognises, so old changes were applied and published again (issue 23).
   */
  private commitFailed = false;

  constructor(
    private readonly client: KafkaClient,
    settings: ConsumerSettings,
  ) {
    this.log = settings.logger.child({ component: 'consumer', groupId: settings.groupId });
    // Spans and metrics wrap the callbacks; the loop below is unaware of them.
    this.instrumentation = instrumentConsumer(settings, this.log);
    this.settings = {
      ...settings,
      handler: this.instrumentation.handler,
      onPermanentFailure: this.instrumentation.onPermanentFailure,
    };
  }

  async start(): Promise<void> {
    const consumer = this.client.kafka.consumer({
      groupId: this.settings.groupId,
      // A member that stops heartbeating (a killed instance) loses its partitions after this; long enough
      // that a broker failover (the group coordinator moving to another broker, seconds on a cluster) does
      // not expire healthy members, short enough that a crash costs little latency.
      sessionTimeout: this.settings.sessionTimeoutMs ?? 15_000,
      // Well below the session timeout (a fifth), so a member survives a missed heartbeat or two while
      // its coordinator moves (a broker lost or restarted in a rolling upgrade).
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      // How long the group waits for every member to rejoin in a rebalance: a member finishes the batch it
      // is handling (and commits it) first, which may wait for a broker or the database.
      rebalanceTimeout: 60_000,
      // A batch consumer lets the broker gather a little data before answering a fetch (up to 50 ms, or
      // its own `fetch`): fewer, fuller fetches cost the broker less and give the handler bigger batches.
      ...(this.settings.batchHandler
        ? fetchOptions(this.settings.fetch ?? BATCH_FETCH)
        : { maxWaitTimeInMs: 1_000 }),
      // About 35 s of retries for each request: a lost broker's partitions and the group coordinator move
      // to other brokers within seconds (broker.session.timeout.ms), and NOT_COORDINATOR / NOT_LEADER answers
      // are retried against the new ones, so a cluster's broker loss never reaches the restart below.
      retry: {
        retries: 10,
        initialRetryTime: 300,
        maxRetryTime: 5_000,
        // After retriable errors kafkajs asks whether to restart: yes while the loop made progress within
        // the restart window; past that, give up so the orchestrator restarts the process. (Errors it
        // deems final, such as "failed to find group coordinator", never ask: see the CRASH handler.)
        restartOnFailure: async () => !this.stopping && this.withinRestartWindow(),
      },
    });
    this.consumer = consumer;
    this.stopLagReport = this.instrumentation.reportLag(() => this.client.admin());
    consumer.on(consumer.events.FETCH_START, () => {
      this.lastProgressAt = Date.now();
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.settings.onGroupJoin?.();
      this.joined = true;
      this.lastProgressAt = Date.now();
      this.log.info({ memberAssignment: e.payload.memberAssignment }, 'joined consumer group');
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.joined = false;
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      if (this.stopping) return;
      if (restart) {
        this.log.warn({ err: error }, 'consumer crashed; kafkajs restarts it');
      } else if (isBrokerUnavailable(error) && this.withinRestartWindow()) {
        // kafkajs gives up for good on some errors of a broker that is down or restarting ("failed to
        // find group coordinator" is non-retriable to it, though it only means no broker answered), and
        // never asks `restartOnFailure`. Such an outage is waited out here, like any other.
        this.log.warn({ err: error }, 'consumer stopped: the broker is unavailable; starting it again');
        void this.startAgain();
      } else {
        this.log.fatal({ err: error }, 'consumer crashed for good');
        this.settings.onFatal(error);
      }
    });
    await consumer.connect();
    for (const topic of this.settings.topics) {
      await consumer.subscribe({ topic, fromBeginning: this.settings.fromBeginning ?? true });
    }
    const partitionsConsumedConcurrently = this.settings.partitionsConsumedConcurrently ?? 1;
    if (this.settings.batchHandler) {
      await consumer.run({
        autoCommit: true,
        autoCommitInterval: 500,
        autoCommitThreshold: 1,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently,
        eachBatch: (payload) => this.processBatch(payload),
      });
      return;
    }
    await consumer.run({
      autoCommit: true,
      autoCommitInterval: 500,
      partitionsConsumedConcurrently,
      eachMessage: (payload) => inMessageTrace(payload.message.headers, () => this.process(payload)),
    });
  }

  /**
   * A fetched batch in chunks: each chunk goes to the batch handler at once and its offsets are resolved
   * and committed when it returns; a chunk whose batch handler failed is handled one message at a time
   * (`process`), which retries, dead-letters and isolates the message at fault.
   */
  private async processBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const size = this.settings.maxBatchSize ?? 500;
    const batchHandler = this.instrumentation.batchHandler!;
    const current = () => isRunning() && !isStale() && !this.stopping;
    const commit = () => this.commit(commitOffsetsIfNecessary);
    // After a failed commit, nothing more is handled until the offsets taken so far are committed: this
    // throws again while the coordinator is unreachable, and kafkajs fetches this batch again later.
    if (this.commitFailed) await commit();
    const context: BatchContext = { heartbeat: () => heartbeat().catch(() => undefined) };
    for (let from = 0; from < batch.messages.length; ) {
      if (!current()) return;
      const chunk = batch.messages.slice(from, from + size);
      const where = {
        topic: batch.topic,
        partition: batch.partition,
        offset: chunk[0]!.offset,
        messages: chunk.length,
      };
      const run = () =>
        this.beating(heartbeat, () =>
          batchHandler(
            chunk.map((m) => toIncoming(batch.topic, batch.partition, m)),
            context,
          ),
        );
      let handled = await this.tryBatch(run, where, heartbeat, current);
      if (typeof handled === 'object') {
        // Some messages are still in progress: commit what was taken, and come back for the rest.
        if (handled.taken > 0) {
          resolveOffset(chunk[handled.taken - 1]!.offset);
          this.lastProgressAt = Date.now();
          await commit();
        }
        const resume = payload.pause();
        void handled.resumeAfter.then(resume, resume);
        return;
      }
      if (handled === undefined) {
        if (!current()) return;
        handled = chunk.length;
        for (const message of chunk) {
          if (!current()) return;
          await inMessageTrace(message.headers, () =>
            this.process({
              topic: batch.topic,
              partition: batch.partition,
              message,
              heartbeat,
              pause: payload.pause,
            }),
          );
          resolveOffset(message.offset);
          // One at a time can take a while: the group must keep hearing from this member (a rebalance
          // ends the batch here, before another member can be given the partition).
          await heartbeat();
        }
      }
      // What the handler took is committed before it sees more (autoCommitThreshold 1): a redelivery
      // after a crash is never more than one handler call.
      resolveOffset(chunk[handled - 1]!.offset);
      from += handled;
      this.lastProgressAt = Date.now();
      await commit();
      await heartbeat();
    }
  }

  /**
   * Commits the offsets resolved so far (kafkajs commits every partition's at once). When it fails the
   * error goes to kafkajs, which retries its fetch loop (or rejoins the group, and the partitions resume
   * from the committed offsets) and `commitFailed` holds every partition's handler until a commit
   * succeeds: a redelivery is never more than what each partition had taken since its last commit.
   */
  private async commit(commitOffsetsIfNecessary: () => Promise<void>): Promise<void> {
    try {
      await commitOffsetsIfNecessary();
    } catch (err) {
      if (!this.commitFailed) {
        this.log.warn({ err }, 'committing offsets failed; nothing more is handled until a commit succeeds');
      }
      this.commitFailed = true;
      throw err;
    }
    if (this.commitFailed) this.log.info('offsets committed again; handling resumes');
    this.commitFailed = false;
  }

  /**
   * A batch handler with a few attempts (0.2 s to 1.6 s apart, ≈3 s in all: a database or broker that
   * restarts is often back), so a transient failure does not send the whole chunk down the slower
   * one-message-at-a-time path. Returns how many messages (from the first) the handler took, undefined
   * when every attempt failed (or the consumer is stopping): the caller then isolates the messages. A
   * count outside 1..n is a failed attempt.
   */
  private async tryBatch(
    run: () => ReturnType<BatchHandler>,
    where: { messages: number } & Record<string, unknown>,
    heartbeat: () => Promise<void>,
    current: () => boolean,
  ): Promise<number | BatchYield | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        const taken = await run();
        if (taken === undefined) return where.messages;
        if (typeof taken === 'object') {
          const n = taken.taken;
          if (!Number.isInteger(n) || n < 0 || n > where.messages) {
            throw new Error(`the batch handler took ${n} of a chunk of ${where.messages} messages`);
          }
          return n === where.messages ? n : taken;
        }
        // Anything but 1..n is a defect of the handler: committing the chunk on it could skip messages
        // nobody handled, so it counts as a failed attempt and the messages are handled one at a time.
        if (!Number.isInteger(taken) || taken < 1 || taken > where.messages) {
          throw new Error(`the batch handler returned ${taken} for a chunk of ${where.messages} messages`);
        }
        return taken;
      } catch (err) {
        if (!current()) return undefined;
        const last = attempt >= BATCH_ATTEMPTS;
        this.log.warn(
          { err, ...where, attempt },
          last ? 'batch failed; handling its messages one at a time' : 'batch failed; retrying it',
        );
        if (last) return undefined;
        await this.sleep(200 * 2 ** (attempt - 1));
        await heartbeat(); // a rebalance ends the batch here
      }
    }
  }

  /**
   * Runs one handler call, heartbeating once per heartbeat interval while it runs, for at most
   * `maxHandlerMs` (see ConsumerSettings). A heartbeat refused (a rebalance) changes nothing here: the
   * commit after the call finds out.
   */
  private async beating<T>(heartbeat: () => Promise<void>, call: () => Promise<T>): Promise<T> {
    const until = Date.now() + (this.settings.maxHandlerMs ?? 120_000);
    // kafkajs sends a heartbeat only once the interval has passed since its last one ended: asked at the
    // interval itself, it would skip every other tick (a heartbeat every 6 s, the test's whole session).
    const timer = setInterval(() => {
      if (Date.now() > until) clearInterval(timer);
      else void heartbeat().catch(() => undefined);
    }, HEARTBEAT_INTERVAL_MS / 3);
    try {
      return await call();
    } finally {
      clearInterval(timer);
    }
  }

  private async process(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message, heartbeat } = payload;
    const incoming = toIncoming(topic, partition, message);
    const { initialMs, maxMs } = this.settings.retry ?? { initialMs: 200, maxMs: 10_000 };
    const maxTransient = this.settings.maxTransientAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const isUnavailable = this.settings.isUnavailable ?? isBrokerUnavailable;
    /** Times the dead letter of this message was refused (not counting an unavailable broker). */
    const refusals = { count: 0 };
    for (let attempt = 1, unavailable = 0; ; attempt++) {
      if (this.stopping) throw new StoppingError();
      try {
        await this.beating(heartbeat, () => this.settings.handler(incoming, attempt));
        this.lastProgressAt = Date.now();
        return;
      } catch (err) {
        if (err instanceof StoppingError) throw err;
        // Waiting for a dependency is not an attempt at the message.
        if (!(err instanceof PermanentError) && isUnavailable(err)) unavailable++;
        const permanent =
          err instanceof PermanentError
            ? err
            : attempt - unavailable >= maxTransient
              ? new PermanentError(
                  'RETRIES_EXHAUSTED',
                  'internal',
                  `failed ${attempt - unavailable} times: ${(err as Error).message}`,
                  { cause: err },
                )
              : undefined;
        if (permanent) {
          if (await this.record(incoming, permanent, attempt, refusals, maxTransient, isUnavailable)) {
            this.lastProgressAt = Date.now();
            return;
          }
        } else {
          this.log.warn(
            { err, topic, partition, offset: message.offset, attempt },
            'transient failure; retrying',
          );
        }
        const delay = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 20));
        await this.sleep(delay * (0.8 + Math.random() * 0.4));
        this.lastProgressAt = Date.now(); // retrying is progress: the loop is not stuck
        await heartbeat().catch(() => undefined);
      }
    }
  }

  /**
   * A new kafkajs consumer after the old one stopped for good on a broker outage (see the crash handler):
   * tried with a growing delay while the broker stays unavailable, until the restart window without
   * progress; then, or on any other error, `onFatal`. Its partitions resume from the committed offsets.
   */
  private async startAgain(): Promise<void> {
    this.joined = false;
    await this.stopLag();
    for (let delay = 1_000; !this.stopping; delay = Math.min(delay * 2, 10_000)) {
      await this.sleep(delay);
      if (this.stopping) return;
      try {
        await this.start();
        this.log.info('consumer started again after the broker outage');
        return;
      } catch (err) {
        await this.consumer?.disconnect().catch(() => undefined);
        await this.stopLag();
        if (isBrokerUnavailable(err) && this.withinRestartWindow()) {
          this.log.warn({ err }, 'the broker is still unavailable; trying again');
          continue;
        }
        this.log.fatal({ err }, 'consumer could not start again');
        this.settings.onFatal(err);
        return;
      }
    }
  }

  /**
   * Records a permanent failure; true once it is durable. A dependency that is unavailable is waited for
   * (false: the caller retries later, without limit). A record the broker refuses as too large, or one
   * refused `maxTransient` times, is replaced at once by the pointer form (`omitValue`), so the partition
   * moves on; only when even that fails is it false.
   */
  private async record(
    message: IncomingMessage,
    error: PermanentError,
    attempts: number,
    refusals: { count: number },
    maxTransient: number,
    isUnavailable: (error: unknown) => boolean,
  ): Promise<boolean> {
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    try {
      await this.settings.onPermanentFailure(message, error, attempts, {});
      return true;
    } catch (err) {
      if (isUnavailable(err)) {
        this.log.error({ err, ...where }, 'recording a failure failed; retrying');
        return false;
      }
      refusals.count++;
      const refusal = recordRefusal(err);
      if (!refusal && refusals.count < maxTransient) {
        this.log.error({ err, ...where, refusals: refusals.count }, 'recording a failure failed; retrying');
        return false;
      }
      const reason = refusal
        ? `the broker refused the whole dead letter (${refusal})`
        : `writing the whole dead letter failed ${refusals.count} times (${(err as Error).name})`;
      this.log.error(
        { err, ...where, code: error.code },
        'the dead letter could not be written whole; writing a pointer to the original instead',
      );
      try {
        await this.settings.onPermanentFailure(message, error, attempts, { omitValue: reason });
        return true;
      } catch (pointerErr) {
        this.log.error({ err: pointerErr, ...where }, 'writing the pointer dead letter failed; retrying');
        return false;
      }
    }
  }

  /** Whether the loop made progress within the restart window (`restartWindowMs`, default 5 minutes). */
  private withinRestartWindow(): boolean {
    return Date.now() - this.lastProgressAt < (this.settings.restartWindowMs ?? RESTART_WINDOW_MS);
  }

  private async stopLag(): Promise<void> {
    const stop = this.stopLagReport;
    this.stopLagReport = undefined;
    await stop?.().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const started = Date.now();
      const tick = () => {
        if (this.stopping || Date.now() - started >= ms) resolve();
        else setTimeout(tick, Math.min(100, ms));
      };
      tick();
    });
  }

  health(livenessWindowMs = 60_000): ConsumerHealth {
    return {
      alive: Date.now() - this.lastProgressAt < livenessWindowMs,
      ready: this.joined && !this.stopping,
      lastProgressAt: this.lastProgressAt,
    };
  }

  /** Stops fetching, lets the in-flight message finish or abort, commits resolved offsets, leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect();
    await this.stopLagReport?.();
  }
}
