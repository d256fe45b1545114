import { decodeMessage } from './decode.js';
import { UseCaseQuarantineMessage } from './messages.js';
import { Topics } from './topics.js';

/** The key of a quarantine record on `erp.mapper.quarantines`: one per use case revision. */
export const quarantineKey = (useCaseId: string, revision: number): string => `${useCaseId}@${revision}`;

/**
 * The local view of `erp.mapper.quarantines` (ADR 0015, decision 13): the quarantined revision of each use
 * case. A record for a revision replaces older ones of that use case (a newer quarantine means the older
 * configuration is gone); a tombstone releases its revision. Readers compare with the use case's current
 * revision, so a configuration change lifts the quarantine for them at once, tombstone or not.
 */
export class QuarantineView {
  private readonly byUseCase = new Map<string, UseCaseQuarantineMessage>();

  /** Applies one record of the topic (idempotent; an unreadable key is ignored). */
  apply(key: string | null, value: Buffer | string | null): UseCaseQuarantineMessage | undefined {
    const at = key?.lastIndexOf('@') ?? -1;
    if (!key || at < 1) return undefined;
    const useCaseId = key.slice(0, at);
    const revision = Number(key.slice(at + 1));
    if (value === null || value.length === 0) {
      if (this.byUseCase.get(useCaseId)?.revision === revision) this.byUseCase.delete(useCaseId);
      return undefined;
    }
    const record = decodeMessage(Topics.quarantines, UseCaseQuarantineMessage, value);
    const current = this.byUseCase.get(record.use_case_id);
    if (current && current.revision > record.revision) return undefined;
    this.byUseCase.set(record.use_case_id, record);
    return record;
  }

  /** The quarantine of this revision of the organisation's use case, if it is quarantined. */
  of(orgId: string, useCaseId: string, revision: number): UseCaseQuarantineMessage | undefined {
    const record = this.byUseCase.get(useCaseId);
    return record && record.org_id === orgId && record.revision === revision ? record : undefined;
  }

  get size(): number {
    return this.byUseCase.size;
  }
}
