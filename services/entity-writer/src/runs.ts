import type { MongoStore } from '@hub/mongo';

interface RunDoc {
  _id: string;
  _org: string;
  done_at: string;
}

/**
 * Which prune scopes (entity or meter-reading) have been applied completely. A prune is judged against
 * the entities present when it runs, so re-running an old one after later events would prune their
 * entities; the marker makes its redelivery a no-op.
 */
export class PruneRuns {
  private readonly docs;

  constructor(store: MongoStore) {
    this.docs = store.collection<RunDoc>('writer_prune_runs');
  }

  private static id(org: string, updateId: string) {
    return `${org}|${updateId}`;
  }

  async done(org: string, updateId: string): Promise<boolean> {
    return (await this.docs.findOne({ _id: PruneRuns.id(org, updateId) })) !== null;
  }

  async markDone(org: string, updateId: string): Promise<void> {
    const _id = PruneRuns.id(org, updateId);
    await this.docs.updateOne(
      { _id },
      { $set: { _org: org, done_at: new Date().toISOString() } },
      { upsert: true },
    );
  }
}
