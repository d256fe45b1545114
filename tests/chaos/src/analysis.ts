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
  /** The Kafka record's timestamp (ms) and the message's `meta.processed_at`: where a duplicate came from. */
  timestamp?: number;
  processedAt?: string;
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
  /** Processed changes whose event has no final monitoring record (`entity_written`, `final`). */
  unmonitored: number;
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
  /** Event ids with a final monitoring record; omit to skip that check. */
  monitored?: ReadonlySet<string>,
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
  let unmonitored = 0;
  const examples: string[] = [];
  for (const change of accepted) {
    const records = byKey.get(change.key) ?? [];
    if (records.length > 0) {
      processedCount++;
      if (monitored && !records.some((r) => monitored.has(r.eventId))) unmonitored++;
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
    unmonitored,
  };
}

/** What the run saw besides the pipeline's output: the verdict needs it too. */
export interface RunFacts {
  /** The fewest accepted changes a run must have (a run that accepted nothing proves nothing). */
  minimumAccepted: number;
  /** Answers that fail the run, by status (see `failingAnswer`). */
  failedAnswers: Record<string, number>;
  /** Instances that exited when nobody stopped them (the harness restarted them). */
  unplannedExits: string[];
  /** Faults that could not be injected. */
  faultErrors: string[];
  /** SIGTERM stops that did not end in a completed ordered shutdown (exit 0). */
  uncleanStops: string[];
}

/**
 * Which non-200 answers fail a run. 503 with Retry-After is the designed answer while a service, the
 * broker or the database is down (the gateway's BROKER_UNAVAILABLE / STORE_UNAVAILABLE, the edge's
 * UPSTREAM_UNAVAILABLE): the client retries it, and a change it loses shows as lost. Every other 5xx (500,
 * 502, 504, or a 503 without Retry-After) is a failure a client cannot act on, and fails the run; so does
 * a 429 (the chaos stack has no rate limit to meet).
 */
export function failingAnswer(status: number, retryAfter: string | null): string | undefined {
  if (status === 503 && retryAfter) return undefined;
  if (status === 503) return '503 without Retry-After';
  if (status >= 500 || status === 429) return String(status);
  return undefined;
}

/** Why the run failed, one line per reason; empty when it passed. */
export function verdict(report: Report, run: RunFacts): string[] {
  const reasons: string[] = [];
  if (report.accepted < run.minimumAccepted) {
    reasons.push(`${report.accepted} changes accepted, fewer than the ${run.minimumAccepted} planned`);
  }
  if (report.notAccepted > 0) reasons.push(`${report.notAccepted} changes answered ignored`);
  if (report.failed > 0) {
    reasons.push(
      `${report.failed} accepted changes dead-lettered (${Object.entries(report.deadLettersByCode)
        .map(([code, n]) => `${code}: ${n}`)
        .join(', ')})`,
    );
  }
  if (report.lost > 0)
    reasons.push(`${report.lost} accepted changes lost (e.g. ${report.lostKeys.join(', ')})`);
  if (report.processed < report.accepted) {
    reasons.push(`${report.processed} changes processed of ${report.accepted} accepted`);
  }
  if (report.unmonitored > 0)
    reasons.push(`${report.unmonitored} processed changes without a final monitoring record`);
  if (report.duplicated.messages > 0)
    reasons.push(`${report.duplicated.messages} changes published more than once`);
  if (report.duplicated.changes > 0) reasons.push(`${report.duplicated.changes} changes applied twice`);
  if (report.entities.stored !== report.entities.expected) {
    reasons.push(`${report.entities.stored} entities stored, ${report.entities.expected} expected`);
  }
  if (report.entities.duplicates.length > 0) {
    reasons.push(`duplicate entities: ${report.entities.duplicates.slice(0, 5).join(', ')}`);
  }
  if (report.entities.stale.length > 0) {
    reasons.push(`${report.entities.stale.length} entities miss their last update`);
  }
  const answers = Object.entries(run.failedAnswers).filter(([, n]) => n > 0);
  if (answers.length > 0) {
    reasons.push(
      `answers a client cannot act on: ${answers.map(([status, n]) => `${n}× ${status}`).join(', ')}`,
    );
  }
  if (run.unplannedExits.length > 0) reasons.push(`unplanned exits: ${run.unplannedExits.join('; ')}`);
  if (run.faultErrors.length > 0) reasons.push(`faults not injected: ${run.faultErrors.join('; ')}`);
  if (run.uncleanStops.length > 0) reasons.push(`unclean stops: ${run.uncleanStops.join('; ')}`);
  return reasons;
}

/** True when the verdict found nothing. */
export function passed(report: Report, run: RunFacts): boolean {
  return verdict(report, run).length === 0;
}

/** One answer of the API to the load (`status` 0: none, the connection failed or timed out). */
export interface Answer {
  at: number;
  status: number;
}

/**
 * How long the API answered 503 within [from, to] (a fault's window): each span from a 503 answer until the
 * next 200 answer, clipped to the window, summed; and how many 503 answers arrived in it. `answers` in
 * arrival order (the load sends one request at a time).
 */
export function unavailableWithin(
  answers: Answer[],
  from: number,
  to: number,
): { ms: number; answers503: number } {
  let ms = 0;
  let answers503 = 0;
  let since: number | undefined;
  const close = (at: number) => {
    if (since !== undefined) ms += Math.max(0, Math.min(at, to) - Math.max(since, from));
    since = undefined;
  };
  for (const a of answers) {
    if (a.at > to) break;
    if (a.status === 200) close(a.at);
    else if (a.status === 503) {
      if (a.at >= from) answers503++;
      since ??= a.at;
    }
  }
  close(to);
  return { ms, answers503 };
}

/** The q-quantile (0..1) of `values` (sorted here), 0 when empty. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}
