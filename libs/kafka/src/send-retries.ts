// A fix, at our side, for a defect of kafkajs 2.2.4 that writes records twice on a Kafka cluster.
//
// kafkajs sends one produce request per leader broker of a send (`src/producer/sendMessages.js`) and awaits
// them with `Promise.all`. The first request that fails (a leader that moved answers NOT_LEADER at once, a
// killed broker's connection closes) rejects the attempt while the requests to the other brokers are still
// under way: waiting for their acks=all answer, or queued behind the producer's per-broker lock. kafkajs's
// retrier then starts the next attempt, which sends again to every broker that has no answer *yet*, those
// included. When the first attempt's request to such a broker is then written after all, the second one
// follows it with the same records under the next sequence numbers (the first one advanced them), so the
// broker writes them again: a duplicate that idempotence cannot recognise. On one broker a send is one
// request and this cannot happen; on three, under load and with leaders moving, the cluster chaos run
// published a third of its processed-entity messages twice (issue 23).
//
// The fix makes each send's attempts strictly one after another: an attempt starts only once every request
// of the earlier attempts has its answer or its error (so a broker that answered is not asked again, and
// one that failed had its sequence numbers rolled back by kafkajs), and the send settles, written or
// failed, only once none of its requests is still under way (so a caller that retries a failed send
// cannot race a request of it that is still being written). A request is counted from the moment it asks
// for its broker's lock (`eosManager.acquireBrokerLock`) until it gives it back (`releaseBrokerLock`); the
// send it belongs to is known from the async context its attempt runs in.
//
// A second defect of the same retry: each attempt recomputes the leaders of *all* the send's partitions
// and sends to every broker that has no answer yet the partitions it now leads. A partition written in an
// earlier attempt whose leadership then moved to such a broker is sent to it again, under the sequence
// numbers after the ones that write advanced: written twice (seen in the merged CI run's leader-move test:
// one partition's 13 records at offsets 137-149 and again at 150-162). So an attempt asks only for the
// partitions no earlier attempt of the send has written: a partition's sequence numbers stay advanced
// only when its request was answered (kafkajs rolls them back on an error), which, with the attempts one
// after another, is known when the next attempt starts. (The opposite case, a partition not yet written
// whose new leader already answered, is kafkajs issue 1303: kafkajs skips it, and MessageProducer sends
// it again, client.ts `unacknowledged`.)
//
// kafkajs's `messageProducer.js` takes `sendMessages` when it is first loaded, so this module replaces that
// module's export in Node's CommonJS cache before kafkajs is loaded: it is imported before 'kafkajs' by
// every module here that loads kafkajs (client.ts, scan.ts), and it throws when kafkajs was loaded first.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const FIXED = Symbol.for('hub.kafka.sendRetriesFixed');

/** The part of kafkajs' eosManager this fix wraps. */
interface EosManager {
  acquireBrokerLock(broker: unknown): Promise<void>;
  releaseBrokerLock(broker: unknown): void | Promise<void>;
  updateSequence(topic: string, partition: number, increment: number): void;
}

/** The part of kafkajs' cluster this fix wraps. */
interface Cluster {
  findLeaderForPartitions(topic: string, partitions: Array<string | number>): Record<string, unknown[]>;
}

type Attempt = (bail: (err: Error) => void, retryCount: number, retryTime: number) => Promise<unknown>;

interface SendMessagesOptions {
  eosManager: EosManager;
  cluster: Cluster;
  retrier: (attempt: Attempt) => Promise<unknown>;
  [other: string]: unknown;
}

type SendMessagesFactory = ((options: SendMessagesOptions) => unknown) & { [FIXED]?: true };

const partitionKey = (topic: string, partition: string | number) => `${topic}\u0000${partition}`;

/** The requests of one send that have not settled yet, and who waits for them. */
class Requests {
  private running = 0;
  private waiting: Array<() => void> = [];
  /** Per partition, the records its requests advanced the sequence by (net of kafkajs' rollbacks). */
  private readonly advanced = new Map<string, number>();

  sequenced(topic: string, partition: number, increment: number): void {
    const key = partitionKey(topic, partition);
    this.advanced.set(key, (this.advanced.get(key) ?? 0) + increment);
  }

  /** Written by an earlier attempt: answered, so its sequence numbers stayed advanced. */
  written(topic: string, partition: string | number): boolean {
    return (this.advanced.get(partitionKey(topic, partition)) ?? 0) > 0;
  }

  started(): void {
    this.running++;
  }

  settled(): void {
    this.running--;
    if (this.running > 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** Resolves once none is running (at once if none is). */
  idle(): Promise<void> {
    if (this.running <= 0) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

const sendOf = new AsyncLocalStorage<Requests>();

/** kafkajs's `sendMessages` factory, with each send's attempts one after another (above). */
export function withSequentialAttempts(original: SendMessagesFactory): SendMessagesFactory {
  const fixed: SendMessagesFactory = (options) => {
    const locks = options.eosManager;
    // The eosManager's other methods (sequences, producer id) are its own; only the lock is wrapped.
    const eosManager: EosManager = Object.create(locks, {
      acquireBrokerLock: {
        value: async (broker: unknown) => {
          const requests = sendOf.getStore();
          requests?.started();
          try {
            await locks.acquireBrokerLock(broker);
          } catch (err) {
            requests?.settled(); // no lock, no request: kafkajs does not release it
            throw err;
          }
        },
      },
      releaseBrokerLock: {
        value: async (broker: unknown) => {
          try {
            await locks.releaseBrokerLock(broker);
          } finally {
            sendOf.getStore()?.settled();
          }
        },
      },
      updateSequence: {
        value: (topic: string, partition: number, increment: number) => {
          sendOf.getStore()?.sequenced(topic, partition, increment);
          return locks.updateSequence(topic, partition, increment);
        },
      },
    });
    // Only the partitions no earlier attempt wrote get a leader, so only they are sent (above). Every other
    // property is the cluster's own, called on it.
    const cluster = new Proxy(options.cluster as Cluster & object, {
      get(target, property) {
        if (property === 'findLeaderForPartitions') {
          return (topic: string, partitions: Array<string | number>) => {
            const requests = sendOf.getStore();
            const left = requests ? partitions.filter((p) => !requests.written(topic, p)) : partitions;
            return target.findLeaderForPartitions(topic, left);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const retrier = (attempt: Attempt) => {
      const requests = new Requests();
      const attempts = options.retrier(async (bail, retryCount, retryTime) => {
        await requests.idle();
        return sendOf.run(requests, () => attempt(bail, retryCount, retryTime));
      });
      return attempts.finally(() => requests.idle());
    };
    return original({ ...options, cluster, eosManager, retrier });
  };
  fixed[FIXED] = true;
  return fixed;
}

/**
 * Applies the fix once per process, before kafkajs loads; throws when kafkajs was loaded without it or no
 * longer has the shape it was written for.
 */
export function fixSendRetries(): void {
  const path = require.resolve('kafkajs/src/producer/sendMessages.js');
  const cached = require.cache[path];
  if ((cached?.exports as SendMessagesFactory | undefined)?.[FIXED]) return;
  if (require.cache[require.resolve('kafkajs/src/producer/messageProducer.js')]) {
    throw new Error(
      'kafkajs was loaded before libs/kafka/src/send-retries.ts could fix its send retries: import ' +
        "'./send-retries.js' before 'kafkajs' in the module that loaded it",
    );
  }
  const original = require(path) as SendMessagesFactory;
  const source = readFileSync(path, 'utf8');
  if (
    typeof original !== 'function' ||
    !source.includes('await Promise.all(requests)') ||
    !source.includes('eosManager.acquireBrokerLock(broker)') ||
    !source.includes('eosManager.updateSequence(topic, entry.partition, -entry.messages.length)') ||
    !source.includes('cluster.findLeaderForPartitions(topic, partitions)') ||
    !source.includes('return retrier(')
  ) {
    throw new Error(
      'kafkajs sendMessages no longer has the shape libs/kafka/src/send-retries.ts fixes: review it against ' +
        'the kafkajs version in package.json (the fix may be upstream now)',
    );
  }
  require.cache[path]!.exports = withSequentialAttempts(original);
}

/** True once kafkajs's producers are made with the fix (for a test to assert). */
export function sendRetriesFixed(): boolean {
  const path = require.resolve('kafkajs/src/producer/sendMessages.js');
  return Boolean((require.cache[path]?.exports as SendMessagesFactory | undefined)?.[FIXED]);
}

fixSendRetries();
