import type { PruneScopeUpdateMessage } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { matchesUniqueIds } from './lookup.js';
import { type OutboxPublisher, processedMessage } from './outbox.js';
import { checkUniqueIds, type EntityRefs } from './refs.js';
import { type EntitiesRepository, type EntityDoc, entityView } from './repository.js';
import type { PruneRuns } from './runs.js';

export interface PruneOutcome {
  in_scope: number;
  kept: number;
  deleted: number;
  purged: number;
  already_applied?: true;
}

/**
 * Applies an entity prune scope: the `entity_schema` entities inside the scope (related to the scope
 * entity in either direction, or matching the query) whose unique ids are not in `keep_unique_ids` are
 * soft-deleted or purged, each with its processed-entity message.
 */
export class PruneApplier {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly refs: EntityRefs,
    private readonly outbox: OutboxPublisher,
    private readonly runs: PruneRuns,
  ) {}

  async apply(update: PruneScopeUpdateMessage, traceHeaders: Record<string, string>): Promise<PruneOutcome> {
    const outcome: PruneOutcome = { in_scope: 0, kept: 0, deleted: 0, purged: 0 };
    if (await this.runs.done(update.org_id, update.update_id)) return { ...outcome, already_applied: true };
    const purge = update.deletion_mode === 'purge';
    const candidates = await this.inScope(update, purge);
    outcome.in_scope = candidates.length;
    for (const doc of candidates) {
      if (update.keep_unique_ids.some((ids) => matchesUniqueIds(doc, ids))) {
        outcome.kept++;
        continue;
      }
      const subject = {
        schema: doc._schema,
        entityId: doc._id,
        uniqueIds: { _id: doc._id },
        changeId: `${update.update_id}|${doc._id}`,
      };
      const message = processedMessage('deleted', update, subject, entityView(doc));
      if (purge) {
        await this.outbox.publish(message, traceHeaders);
        await this.repository.purge(doc._id);
        outcome.purged++;
      } else if (await this.softDelete(doc, subject.changeId, message, traceHeaders)) {
        outcome.deleted++;
      }
    }
    await this.runs.markDone(update.org_id, update.update_id);
    return outcome;
  }

  private async inScope(update: PruneScopeUpdateMessage, withDeleted: boolean): Promise<EntityDoc[]> {
    const { scope } = update;
    if (scope.scope_mode === 'query') {
      if (!scope.query || Object.keys(scope.query).length === 0)
        throw new PermanentError(
          'PRUNE_SCOPE_INVALID',
          'validation',
          `${update.update_id}: query scope is empty`,
        );
      checkUniqueIds(
        { schema: update.entity_schema, uniqueIds: scope.query },
        `prune scope ${update.update_id} query`,
      );
      return this.repository.matching(update.org_id, update.entity_schema, scope.query, withDeleted);
    }
    if (!scope.schema || !scope.unique_ids) {
      throw new PermanentError(
        'PRUNE_SCOPE_INVALID',
        'validation',
        `${update.update_id}: a relations scope needs "schema" and "unique_ids"`,
      );
    }
    const where = `prune scope ${update.update_id}`;
    const target = await this.refs.find(
      update.org_id,
      { schema: scope.schema, uniqueIds: scope.unique_ids },
      where,
    );
    // No scope entity yet: nothing can be related to it, so nothing is in scope.
    return target ? this.repository.related(target, update.entity_schema, withDeleted) : [];
  }

  private async softDelete(
    doc: EntityDoc,
    changeId: string,
    message: ReturnType<typeof processedMessage>,
    traceHeaders: Record<string, string>,
  ): Promise<boolean> {
    let current: EntityDoc | null = doc;
    for (let attempt = 0; attempt < 20 && current; attempt++) {
      if (current._deleted_at || current._hub.applied.includes(changeId)) return false;
      const now = new Date().toISOString();
      const set = { _deleted_at: now, _updated_at: now };
      if (
        await this.repository.update(
          current,
          set,
          [],
          changeId,
          message,
          this.outbox.sender(traceHeaders, changeId),
        )
      )
        return true;
      current = await this.repository.get(doc._org, doc._id);
    }
    if (!current) return false;
    throw new Error(`${changeId}: could not delete under concurrent writes; retrying later`);
  }
}
