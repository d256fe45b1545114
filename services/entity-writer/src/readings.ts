import type { MeterReadingPruneScopeMessage, MeterReadingUpdateMessage } from '@hub/contracts';
import { PermanentError } from '@hub/kafka';
import { writableAttributes } from './lookup.js';
import { berlinDay, readingMatch } from './reading-rules.js';
import type { ReadingDoc, ReadingsRepository } from './readings-repository.js';
import type { EntityRefs } from './refs.js';
import type { PruneRuns } from './runs.js';

/** Entity schemas meters and meter counters are looked up in. */
export const METER_SCHEMA = 'meter';
export const METER_COUNTER_SCHEMA = 'meter_counter';

/**
 * A missing meter or counter may still be created by the same event on another partition (a counter,
 * or a meter created through a relation), so the first attempts fail transiently (retried with backoff,
 * about 6 s in all) before the reading is dead-lettered.
 */
export const MISSING_METER_ATTEMPTS = 6;

export type ReadingOutcome = 'created' | 'updated' | 'deleted' | 'unchanged' | 'nothing_to_delete';

/**
 * Applies meter readings and their prune scopes. The meter (and counter) must exist: readings of a
 * missing meter are dead-lettered (`METER_NOT_FOUND`) after `MISSING_METER_ATTEMPTS`.
 */
export class ReadingsApplier {
  constructor(
    private readonly readings: ReadingsRepository,
    private readonly refs: EntityRefs,
    private readonly runs: PruneRuns,
  ) {}

  private async meterAndCounter(
    update: MeterReadingUpdateMessage | MeterReadingPruneScopeMessage,
    attempt: number,
  ): Promise<{ meterId: string; counterId: string | null }> {
    const missing = (code: string, message: string) =>
      attempt < MISSING_METER_ATTEMPTS
        ? new Error(`${message} (yet; attempt ${attempt})`)
        : new PermanentError(code, 'lookup', message);
    const where = `meter reading update ${update.update_id}`;
    const meterIds = update.meter.$entity_unique_ids;
    const meter = await this.refs.find(update.org_id, { schema: METER_SCHEMA, uniqueIds: meterIds }, where);
    if (!meter || meter._deleted_at) {
      throw missing('METER_NOT_FOUND', `${where}: no meter with ${JSON.stringify(meterIds)}`);
    }
    if (!update.meter_counter) return { meterId: meter._id, counterId: null };
    const counterIds = update.meter_counter.$entity_unique_ids;
    const counter = await this.refs.find(
      update.org_id,
      { schema: METER_COUNTER_SCHEMA, uniqueIds: counterIds },
      where,
    );
    if (!counter || counter._deleted_at) {
      throw missing(
        'METER_COUNTER_NOT_FOUND',
        `${where}: no meter_counter with ${JSON.stringify(counterIds)}`,
      );
    }
    return { meterId: meter._id, counterId: counter._id };
  }

  async apply(update: MeterReadingUpdateMessage, attempt = MISSING_METER_ATTEMPTS): Promise<ReadingOutcome> {
    const where = `meter reading update ${update.update_id}`;
    const { meterId, counterId } = await this.meterAndCounter(update, attempt);
    const attributes = writableAttributes(update.attributes);
    const match = readingMatch(update.org_id, update.reading_matching ?? 'external_id', {
      meterId,
      counterId,
      attributes,
    });
    if (typeof match === 'string')
      throw new PermanentError('METER_READING_INVALID', 'validation', `${where}: ${match}`);
    for (let attempt = 0; attempt < 20; attempt++) {
      const found = await this.readings.find(match.filter);
      if (found.length > 1) {
        throw new PermanentError('AMBIGUOUS_LOOKUP', 'lookup', `${where}: ${found.length}+ readings match`);
      }
      const current = found[0];
      if (update.mode === 'delete') {
        if (!current) return 'nothing_to_delete';
        await this.readings.remove([current._id]);
        return 'deleted';
      }
      if (current?._hub.applied.includes(update.update_id)) return 'unchanged';
      const now = new Date().toISOString();
      // The reading's meter is the one resolved from `meter`: a mapped `meter_id` attribute is not kept.
      const { meter_id: _mapped, ...kept } = attributes;
      const fields = {
        ...kept,
        counter_id: counterId,
        direction: (attributes.direction as string | undefined) ?? null,
        berlin_day: berlinDay(attributes.timestamp) ?? null,
        _updated_at: now,
      };
      if (current) {
        if (await this.readings.update(current, fields, update.update_id)) return 'updated';
        continue;
      }
      const doc: Omit<ReadingDoc, '_id'> = {
        _created_at: now,
        ...fields,
        // After the mapped attributes: a mapped `meter_id` never moves a reading to another meter.
        _org: update.org_id,
        meter_id: meterId,
        _hub: { create_key: match.createKey, version: 1, applied: [update.update_id] },
      };
      if (await this.readings.create(doc)) return 'created';
    }
    throw new Error(`${where}: too many concurrent writes to the same reading; retrying later`);
  }

  /** Deletes the meter's (+ counter's, + source's) readings whose external id is not kept. */
  async prune(
    update: MeterReadingPruneScopeMessage,
    attempt = MISSING_METER_ATTEMPTS,
  ): Promise<{ deleted: number; already_applied?: true }> {
    if (await this.runs.done(update.org_id, update.update_id)) return { deleted: 0, already_applied: true };
    const { meterId, counterId } = await this.meterAndCounter(update, attempt);
    const filter: Record<string, unknown> = { _org: update.org_id, meter_id: meterId };
    if (update.meter_counter) filter.counter_id = counterId;
    if (update.source !== undefined) filter.source = update.source;
    const keep = new Set(update.keep_external_ids);
    const inScope = await this.readings.find(filter, 100_000);
    const drop = inScope.filter((r) => !keep.has(String(r.external_id))).map((r) => r._id);
    const deleted = await this.readings.remove(drop);
    await this.runs.markDone(update.org_id, update.update_id);
    return { deleted };
  }
}
