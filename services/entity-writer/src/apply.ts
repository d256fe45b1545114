import {
  deadLetterMonitoringRecord,
  deadLetterRecord,
  decodeEntityUpdatesMessage,
  type EntityUpdateMessage,
  type EntityUpdatesTopicMessage,
  Headers,
  MessageSchemaError,
  monitoringMessage,
  type ProcessedEntityMessage,
} from '@hub/contracts';
import { type IncomingMessage, type OutgoingMessage, PermanentError } from '@hub/kafka';
import type { Logger } from '@hub/observability';
import { type ApplyOutcome, writerRecords } from './monitoring.js';
import { CallOrigins, missingMessages, type PublishedCheck, toOutgoing } from './outbox.js';
import type { PruneApplier } from './prune.js';
import type { ReadingsApplier } from './readings.js';
import { type EntityRefs, noSideEffects, type SideEffects } from './refs.js';
import { APPLIED_KEPT } from './repository.js';
import { hasRelationRefs } from './resolve.js';
import type { EntityWriter, WriteNotes } from './writer.js';

/** What became of one message of `erp.entity.updates`. */
export type MessageResult =
  | { message: IncomingMessage; update: EntityUpdatesTopicMessage; outcome: ApplyOutcome; notes: WriteNotes }
  | { message: IncomingMessage; update?: EntityUpdatesTopicMessage; error: PermanentError };

/** A batch applied: its results, the messages to send (one produce request), and what follows the send. */
export interface AppliedBatch {
  /** One per message taken, in order: the first `results.length` messages (see `UpdatesApplier.apply`). */
  results: MessageResult[];
  outgoing: OutgoingMessage[];
  afterSend: Array<() => Promise<void>>;
}

export interface ApplierDeps {
  writer: EntityWriter;
  refs: EntityRefs;
  pruner: PruneApplier;
  readings: ReadingsApplier;
  published: PublishedCheck;
  logger: Logger;
}

/**
 * Applies messages of `erp.entity.updates` in offset order (ADR 9). Runs of plain entity updates go to
 * the batch writer together; relation_ref updates, prune scopes and meter readings are applied one at a
 * time in their place. Everything the batch produced — processed-entity messages, monitoring records,
 * dead letters of the updates that can never succeed — is returned for one send before the offsets are
 * committed. It stops before the message that would give one entity more than `APPLIED_KEPT` updates:
 * `results` covers the messages taken, and the caller hands the rest over again.
 */
export class UpdatesApplier {
  constructor(private readonly deps: ApplierDeps) {}

  async apply(messages: IncomingMessage[], attempt = 1): Promise<AppliedBatch> {
    const results: MessageResult[] = [];
    const effects = noSideEffects();
    const origins = new CallOrigins(messages);
    let run: Array<{ message: IncomingMessage; update: EntityUpdateMessage }> = [];
    const perEntity = new Map<string, number>();
    // The writer took only a prefix of the run (an entity's outbox budget): the batch ends there.
    let ended = false;
    const flush = async () => {
      if (run.length === 0) return;
      const batch = await this.deps.writer.apply(
        run.map((r) => r.update),
        undefined,
        origins,
      );
      if (batch.results.length < run.length) ended = true;
      merge(effects, batch);
      batch.results.forEach((r, i) => {
        const { message, update } = run[i]!;
        results.push(
          r.ok
            ? { message, update, outcome: r.outcome, notes: r.notes }
            : { message, update, error: r.error },
        );
      });
      run = [];
    };
    for (const message of messages) {
      if (ended) break;
      let update: EntityUpdatesTopicMessage;
      try {
        update = decode(message);
        origins.read(update.update_id, message);
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        await flush();
        if (ended) break;
        results.push({ message, error: err });
        continue;
      }
      if (isEntityUpdate(update) && !hasRelationRefs(update.attributes)) {
        // An entity keeps its last APPLIED_KEPT changes (and their unsent messages): one call never gives
        // an entity more than that, so a redelivery of the call (all of it, at most: the runner commits
        // after each call) recognises every one of them. The rest of the batch comes in the next call.
        const key = message.key ?? update.update_id;
        if ((perEntity.get(key) ?? 0) >= APPLIED_KEPT) break;
        perEntity.set(key, (perEntity.get(key) ?? 0) + 1);
        run.push({ message, update });
        continue;
      }
      await flush();
      if (ended) break;
      try {
        results.push({ message, update, ...(await this.applyAlone(update, attempt, effects, origins)) });
      } catch (err) {
        if (!(err instanceof PermanentError)) throw err;
        results.push({ message, update, error: err });
      }
    }
    await flush();

    const resent = await missingMessages(
      effects.unconfirmed,
      effects.current,
      this.deps.published,
      this.deps.logger,
      new Set(effects.messages.map((m) => m.meta.change_id)),
    );
    return {
      results,
      outgoing: this.outgoing(results, [...effects.messages, ...resent]),
      afterSend: effects.afterSend,
    };
  }

  private async applyAlone(
    update: EntityUpdatesTopicMessage,
    attempt: number,
    effects: SideEffects,
    origins: CallOrigins,
  ): Promise<{ outcome: ApplyOutcome; notes: WriteNotes }> {
    switch (update.kind) {
      case 'prune_scope':
        return { outcome: await this.deps.pruner.apply(update, effects), notes: { created: [] } };
      case 'meter_reading':
        return { outcome: await this.deps.readings.apply(update, attempt), notes: { created: [] } };
      case 'meter_reading_prune_scope':
        return { outcome: await this.deps.readings.prune(update, attempt), notes: { created: [] } };
      default: {
        // An entity update with relation_refs: their targets are written first, then the update.
        const own = noSideEffects();
        const prepared = await this.deps.refs.prepareRelationRefs(update, own);
        const batch = await this.deps.writer.apply(
          [update],
          new Map([[update.update_id, prepared]]),
          origins,
        );
        const result = batch.results[0]!;
        if (!result.ok) throw result.error;
        merge(effects, own);
        merge(effects, batch);
        return {
          outcome: result.outcome,
          notes: { ...result.notes, created: [...own.created, ...result.notes.created] },
        };
      }
    }
  }

  /** Processed messages (with their update's trace), monitoring records and dead letters, in that order. */
  private outgoing(results: MessageResult[], processed: ProcessedEntityMessage[]): OutgoingMessage[] {
    const headersOf = new Map<string, Record<string, string>>();
    for (const r of results) if (r.update) headersOf.set(r.update.update_id, r.message.headers);
    const out: OutgoingMessage[] = processed.map((m) => {
      const traceparent = headersOf.get(m.source.update_id)?.[Headers.traceparent];
      return toOutgoing(m, traceparent ? { [Headers.traceparent]: traceparent } : {});
    });
    for (const r of results) {
      if ('error' in r) {
        out.push(deadLetterRecord('entity-writer', r.message, r.error, 1));
        const record = deadLetterMonitoringRecord('entity-writer', r.message, r.error, 1);
        if (record) out.push(monitoringMessage(record, r.message.headers));
      } else {
        for (const record of writerRecords(r.update, r.outcome, r.notes)) {
          out.push(monitoringMessage(record, r.message.headers));
        }
      }
    }
    return out;
  }
}

function merge(into: SideEffects, from: Omit<SideEffects, 'created'>): void {
  into.messages.push(...from.messages);
  into.unconfirmed.push(...from.unconfirmed);
  for (const [id, doc] of from.current) into.current.set(id, doc);
  into.afterSend.push(...from.afterSend);
}

const isEntityUpdate = (u: EntityUpdatesTopicMessage): u is EntityUpdateMessage =>
  u.kind === undefined || u.kind === 'entity';

function decode(message: IncomingMessage): EntityUpdatesTopicMessage {
  try {
    return decodeEntityUpdatesMessage(message.value);
  } catch (err) {
    if (err instanceof MessageSchemaError) throw new PermanentError(err.code, 'validation', err.message);
    throw err;
  }
}
