import type { PruneScopeUpdateMessage } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { matchesUniqueIds } from './lookup.js';
import { processedMessage } from './outbox.js';
import type { EntityRefs, SideEffects } from './refs.js';
import {
  appliedChange,
  type EntitiesRepository,
  type EntityDoc,
  type EntityKey,
  entityView,
  outboxMessage,
  withApplied,
  withOutbox,
} from './repository.js';
import { checkUniqueIds } from './resolver.js';
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
 * soft-deleted or purged, each with its processed-entity message. Each removal is recorded on the
 * entity first (`<update id>|<entity id>`), so a redelivery sends a missing message instead of pruning
 * again; the scope is marked done once the messages are sent.
 */
export class PruneApplier {
  constructor(
    private readonly repository: EntitiesRepository,
    private readonly refs: EntityRefs,
    private readonly runs: PruneRuns,
  ) {}

  async apply(update: PruneScopeUpdateMessage, effects: SideEffects): Promise<PruneOutcome> {
    const outcome: PruneOutcome = { in_scope: 0, kept: 0, deleted: 0, purged: 0 };
    if (await this.runs.done(update.org_id, update.update_id)) return { ...outcome, already_applied: true };
    const purge = update.deletion_mode === 'purge';
    const candidates = await this.inScope(update);
    const purged: EntityKey[] = [];
    for (const doc of candidates) {
      const changeId = `${update.update_id}|${doc._id}`;
      const subject = { schema: doc._schema, entityId: doc._id, uniqueIds: { _id: doc._id }, changeId };
      const earlier = appliedChange(doc, changeId);
      if (earlier) {
        // An earlier delivery removed it but may not have sent its message.
        effects.unconfirmed.push({
          change: earlier,
          message: outboxMessage(doc, changeId),
          source: update,
          ...subject,
        });
        effects.current.set(doc._id, doc);
        if (doc._hub.purging) purged.push({ _id: doc._id, _org: doc._org });
        continue;
      }
      if (doc._deleted_at && !purge) continue; // soft-deleted already: not in a delete scope
      outcome.in_scope++;
      if (update.keep_unique_ids.some((ids) => matchesUniqueIds(doc, ids))) {
        outcome.kept++;
        continue;
      }
      const now = new Date().toISOString();
      const next = withApplied(
        { ...doc, _deleted_at: doc._deleted_at ?? now, _updated_at: now },
        { id: changeId, action: 'deleted', at: now },
      );
      if (purge) next._hub = { ...next._hub, purging: true };
      const message = processedMessage('deleted', update, subject, entityView(doc));
      if (!(await this.refs.writeOne(doc, withOutbox(next, [message], this.refs.sent, doc)))) {
        throw new Error(`${changeId}: the entity changed while it was being pruned; retrying`);
      }
      effects.messages.push(message);
      if (purge) {
        purged.push({ _id: doc._id, _org: doc._org });
        outcome.purged++;
      } else {
        outcome.deleted++;
      }
    }
    effects.afterSend.push(async () => {
      await this.repository.purge(purged);
      await this.runs.markDone(update.org_id, update.update_id);
    });
    return outcome;
  }

  /** The scope's entities; soft-deleted ones too (a purge removes them, a redelivery finds its own). */
  private async inScope(update: PruneScopeUpdateMessage): Promise<EntityDoc[]> {
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
      return this.repository.matching(update.org_id, update.entity_schema, scope.query, true);
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
    return target ? this.repository.related(target, update.entity_schema, true) : [];
  }
}
