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
}

type Attempt = (bail: (err: Error) => void, retryCount: number, retryTime: number) => Promise<unknown>;

interface SendMessagesOptions {
  eosManager: EosManager;
  retrier: (attempt: Attempt) => Promise<unknown>;
  [other: string]: unknown;
}

type SendMessagesFactory = ((options: SendMessagesOptions) => unknown) & { [FIXED]?: true };

/** The requests of one send that have not settled yet, and who waits for them. */
class Requests {
  private running = 0;
  private waiting: Array<() => void> = [];

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
    });
    const retrier = (attempt: Attempt) => {
      const requests = new Requests();
      const attempts = options.retrier(async (bail, retryCount, retryTime) => {
        await requests.idle();
        return sendOf.run(requests, () => attempt(bail, retryCount, retryTime));
      });
      return attempts.finally(() => requests.idle());
    };
    return original({ ...options, eosManager, retrier });
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
