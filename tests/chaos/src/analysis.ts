/** One ERP change the load generator sent: the `seq`-th update of one customer. */
export interface SentChange {
  /** `<customer>:<seq>`, also the basis of the event's deduplication id. */
  key: string;
  customer: string;
  seq: number;
  /**
   * accepted: answered `success` (event ids known); accepted-earlier: a retry after a lost answer was
   * answered `skipped`, so an earlier attempt had been accepted; ignored/error: never accepted;
   * unsent: the run ended first.
   */
  outcome: 'accepted' | 'accepted-earlier' | 'ignored' | 'unsent';
  eventIds: string[];
  sentAt: number;
}

/** A message read from `erp.entities.processed` (each Kafka record once: partition and offset). */
export interface ProcessedRecord {
  partition: number;
  offset: string;
  changeId: string;
  eventId: string;
  customer: string;
  seq: number;
  receivedAt: number;
}

export interface DeadLetter {
  eventId?: string;
  code: string;
}

/** What the entity store holds for one customer number (every document, deleted or not). */
export interface StoredEntity {
  customer: string;
  seq: number;
}

export interface Report {
  sent: number;
  accepted: number;
  acceptedOnRetry: number;
  notAccepted: number;
  processed: number;
  failed: number;
  lost: number;
  lostKeys: string[];
  duplicated: {
    /** Change ids published more than once. */
    messages: number;
    /** ERP changes that were applied under more than one change id (accepted twice). */
    changes: number;
    examples: string[];
  };
  entities: {
    expected: number;
    stored: number;
    /** Customers with more than one document. */
    duplicates: string[];
    /** Customers whose entity does not hold the last accepted update's values. */
    stale: Array<{ customer: string; expectedSeq: number; storedSeq: number | undefined }>;
  };
  deadLettersByCode: Record<string, number>;
}

/**
 * Compares what was sent with what the pipeline produced. Pure, so it is unit-tested apart from the run.
 * A change is processed when a processed-entity message carries its values; failed when its event is on
 * the dead-letter topic; lost when it was accepted and is neither.
 */
export function analyse(
  sent: readonly SentChange[],
  processed: readonly ProcessedRecord[],
  deadLetters: readonly DeadLetter[],
  stored: readonly StoredEntity[],
): Report {
  const accepted = sent.filter((s) => s.outcome === 'accepted' || s.outcome === 'accepted-earlier');
  const byKey = new Map<string, ProcessedRecord[]>();
  const byChange = new Map<string, Set<string>>();
  const seen = new Set<string>();
  for (const p of processed) {
    const at = `${p.partition}:${p.offset}`;
    if (seen.has(at)) continue; // the same record read twice is not a duplicate
    seen.add(at);
    const key = `${p.customer}:${p.seq}`;
    byKey.set(key, [...(byKey.get(key) ?? []), p]);
    byChange.set(p.changeId, (byChange.get(p.changeId) ?? new Set()).add(at));
  }
  const deadEvents = new Set(deadLetters.flatMap((d) => (d.eventId ? [d.eventId] : [])));
  const deadLettersByCode: Record<string, number> = {};
  for (const d of deadLetters) deadLettersByCode[d.code] = (deadLettersByCode[d.code] ?? 0) + 1;

  let processedCount = 0;
  let failed = 0;
  const lostKeys: string[] = [];
  let duplicatedChanges = 0;
  const examples: string[] = [];
  for (const change of accepted) {
    const records = byKey.get(change.key) ?? [];
    if (records.length > 0) {
      processedCount++;
      const changeIds = new Set(records.map((r) => r.changeId));
      if (changeIds.size > 1) {
        duplicatedChanges++;
        if (examples.length < 10) examples.push(`${change.key} applied as ${[...changeIds].join(', ')}`);
      }
    } else if (change.eventIds.some((id) => deadEvents.has(id))) {
      failed++;
    } else {
      lostKeys.push(change.key);
    }
  }
  let duplicatedMessages = 0;
  for (const [changeId, offsets] of byChange) {
    if (offsets.size > 1) {
      duplicatedMessages++;
      if (examples.length < 10) examples.push(`change ${changeId} published ${offsets.size} times`);
    }
  }

  const lastSeq = new Map<string, number>();
  for (const change of accepted) {
    lastSeq.set(change.customer, Math.max(lastSeq.get(change.customer) ?? 0, change.seq));
  }
  const docs = new Map<string, StoredEntity[]>();
  for (const e of stored) docs.set(e.customer, [...(docs.get(e.customer) ?? []), e]);
  const stale: Report['entities']['stale'] = [];
  for (const [customer, seq] of lastSeq) {
    const doc = docs.get(customer)?.[0];
    if (doc?.seq !== seq) stale.push({ customer, expectedSeq: seq, storedSeq: doc?.seq });
  }

  return {
    sent: sent.filter((s) => s.outcome !== 'unsent').length,
    accepted: accepted.length,
    acceptedOnRetry: sent.filter((s) => s.outcome === 'accepted-earlier').length,
    notAccepted: sent.filter((s) => s.outcome === 'ignored').length,
    processed: processedCount,
    failed,
    lost: lostKeys.length,
    lostKeys: lostKeys.slice(0, 20),
    duplicated: { messages: duplicatedMessages, changes: duplicatedChanges, examples },
    entities: {
      expected: lastSeq.size,
      stored: stored.length,
      duplicates: [...docs].filter(([, list]) => list.length > 1).map(([customer]) => customer),
      stale,
    },
    deadLettersByCode,
  };
}

/** True when nothing was lost or duplicated and the store matches what was sent. */
export function passed(report: Report): boolean {
  return (
    report.lost === 0 &&
    report.duplicated.messages === 0 &&
    report.duplicated.changes === 0 &&
    report.entities.stored === report.entities.expected &&
    report.entities.duplicates.length === 0 &&
    report.entities.stale.length === 0
  );
}
