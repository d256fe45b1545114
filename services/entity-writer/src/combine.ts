import type { IncomingMessage } from '@hub/kafka';

/**
 * Applies messages and makes their outputs durable (`app.ts`'s `run`): several partitions' messages at
 * once, each partition's in offset order. Returns how many it took, from the first: a prefix.
 */
export type ApplyMessages = (messages: IncomingMessage[]) => Promise<number>;

interface Waiting {
  messages: IncomingMessage[];
  resolve: (taken: number) => void;
  reject: (err: unknown) => void;
}

/** Most messages given to one call, as one partition's chunk (`ConsumerSettings.maxBatchSize`). */
export const COMBINED_MAX_MESSAGES = 500;

/**
 * Joins the chunks the consumer hands over at the same moment into one call (issue 22). kafkajs gives a
 * fetch's batches, one per partition, to `WRITER_CONCURRENCY` handlers at once and fetches again only when
 * all are done; each handler call read its entities, wrote them (one bulk write the database applies
 * statement by statement under one collection lock), sent its messages and committed, so a fetch of six
 * partitions was six of each, three at a time, two rounds in series. Here the chunks handed over in the
 * same turn of the event loop go to one call: one read per organisation, one insert, one compare-and-set
 * write, one produce request, whatever the number of partitions.
 *
 * Each partition still gets its own answer, a prefix of its own chunk: the call takes a prefix of the
 * concatenation (it stops before an entity's `APPLIED_KEPT`-th change or an outbox too large), so the
 * chunks after the one where it stopped took nothing and are applied in another call at once; a chunk
 * the call took part of is answered with that part, and the runner hands its rest over again. Nothing
 * changes for one partition's messages (offset order, at most one call per redelivery, commit after the
 * call), and partitions were already applied concurrently. A call that fails is not retried together:
 * each chunk is applied on its own, so one partition's failing message fails only its own chunk (the
 * runner then retries it and isolates the message, as before); a failure that says the database or the
 * broker is down is every chunk's at once.
 */
export class ChunkCombiner {
  private waiting: Waiting[] = [];

  /**
   * @param unavailable whether an error says a dependency is down (the database, the broker): such a
   *   failure is every chunk's, and each gets it at once (applying each alone would only fail again).
   */
  constructor(
    private readonly apply: ApplyMessages,
    private readonly unavailable: (err: unknown) => boolean = () => false,
    private readonly defer: (run: () => void) => void = (run) => setImmediate(run),
  ) {}

  /** Applies `messages` (one partition's, in offset order) with whatever else is handed over now. */
  submit(messages: IncomingMessage[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ messages, resolve, reject });
      if (this.waiting.length === 1) this.defer(() => this.flush());
    });
  }

  private flush(): void {
    const waiting = this.waiting;
    this.waiting = [];
    // Groups of at most COMBINED_MAX_MESSAGES (a chunk alone may be that large): what one call ever held.
    const groups: Waiting[][] = [];
    let size = Number.POSITIVE_INFINITY;
    for (const w of waiting) {
      if (size + w.messages.length > COMBINED_MAX_MESSAGES) {
        groups.push([]);
        size = 0;
      }
      groups.at(-1)!.push(w);
      size += w.messages.length;
    }
    for (const group of groups) void this.applyGroup(group);
  }

  private async applyGroup(group: Waiting[]): Promise<void> {
    while (group.length > 1) {
      let taken: number;
      try {
        taken = await this.apply(group.flatMap((w) => w.messages));
      } catch (err) {
        if (this.unavailable(err)) {
          for (const w of group) w.reject(err);
          return;
        }
        // Each chunk on its own, so a failure stays with the partition it belongs to.
        await Promise.all(group.map((w) => this.alone(w)));
        return;
      }
      if (!(taken > 0)) {
        // Not a prefix of anything: let each chunk's own call answer (and the runner judge it).
        await Promise.all(group.map((w) => this.alone(w)));
        return;
      }
      const untaken: Waiting[] = [];
      for (const w of group) {
        const mine = Math.min(taken, w.messages.length);
        taken -= mine;
        if (mine > 0) w.resolve(mine);
        else untaken.push(w);
      }
      group = untaken;
    }
    if (group.length === 1) await this.alone(group[0]!);
  }

  private alone(w: Waiting): Promise<void> {
    return this.apply(w.messages).then(w.resolve, w.reject);
  }
}
