import type { MonitoringRecord, MonitoringStage } from '@hub/contracts';

/** Pure aggregation of monitoring records: bucketing, counts, breakdowns, trace roll-ups. */

export const INTERVALS = {
  '5m': 5 * 60_000,
  '10m': 10 * 60_000,
  '30m': 30 * 60_000,
  '1h': 60 * 60_000,
  '3h': 3 * 60 * 60_000,
  '1d': 24 * 60 * 60_000,
} as const;
export type Interval = keyof typeof INTERVALS;

/** The reference's limit on buckets per time-series request. */
export const MAX_BUCKETS = 200;

/** Stages written by the gateway (an event received): the `incoming` source of `getMonitoringStatsV2`. */
export const INCOMING_STAGES: MonitoringStage[] = ['accepted', 'skipped', 'ignored', 'rejected'];

/**
 * The buckets of a time series: aligned to multiples of the interval since the epoch (UTC), from the
 * bucket holding `from` to the one holding `to`, empty ones included. A string says why not.
 */
export function bucketStarts(from: string, to: string, interval: Interval): number[] | string {
  const size = INTERVALS[interval];
  const start = Date.parse(from);
  const end = Date.parse(to);
  if (end < start) return `to_date ${to} is before from_date ${from}`;
  const first = Math.floor(start / size) * size;
  const last = Math.floor(end / size) * size;
  const count = (last - first) / size + 1;
  if (count > MAX_BUCKETS) {
    return `from_date ${from} to to_date ${to} at interval ${interval} needs ${count} buckets; the maximum is ${MAX_BUCKETS} (choose a larger interval or a shorter range)`;
  }
  return Array.from({ length: count }, (_, i) => first + i * size);
}

export const bucketOf = (createdAt: string, interval: Interval): number => {
  const size = INTERVALS[interval];
  return Math.floor(Date.parse(createdAt) / size) * size;
};

export interface LevelCounts {
  success_count: number;
  error_count: number;
  warning_count: number;
  skipped_count: number;
  total_count: number;
}

export const emptyCounts = (): LevelCounts => ({
  success_count: 0,
  error_count: 0,
  warning_count: 0,
  skipped_count: 0,
  total_count: 0,
});

export function addLevel(counts: LevelCounts, level: MonitoringRecord['level']): void {
  counts[`${level}_count`]++;
  counts.total_count++;
}

export const successRate = (c: LevelCounts): number =>
  c.total_count === 0 ? 0 : Math.round((c.success_count / c.total_count) * 10_000) / 100;

/** Collapses use case ids no longer configured into `__unknown__` ('' stays: "General"). */
export const useCaseBucket = (useCaseId: string, known: ReadonlySet<string>): string =>
  useCaseId === '' || known.has(useCaseId) ? useCaseId : '__unknown__';

export type SeriesGroup = 'use_case_type' | 'use_case';

export interface SeriesBucket extends LevelCounts {
  timestamp: string;
  breakdown?: Array<Record<string, unknown>>;
}

/** Counts per bucket (and per group within a bucket when asked). */
export function timeSeries(
  records: Iterable<Pick<MonitoringRecord, 'created_at' | 'level' | 'use_case_id' | 'use_case_type'>>,
  starts: number[],
  interval: Interval,
  group?: SeriesGroup,
  knownUseCases: ReadonlySet<string> = new Set(),
): SeriesBucket[] {
  const byStart = new Map<number, { counts: LevelCounts; groups: Map<string, LevelCounts> }>();
  for (const s of starts) byStart.set(s, { counts: emptyCounts(), groups: new Map() });
  for (const r of records) {
    const bucket = byStart.get(bucketOf(r.created_at, interval));
    if (!bucket) continue;
    addLevel(bucket.counts, r.level);
    if (group) {
      const key = group === 'use_case' ? useCaseBucket(r.use_case_id, knownUseCases) : r.use_case_type;
      const counts = bucket.groups.get(key) ?? emptyCounts();
      addLevel(counts, r.level);
      bucket.groups.set(key, counts);
    }
  }
  return starts.map((s) => {
    const { counts, groups } = byStart.get(s)!;
    return {
      timestamp: new Date(s).toISOString(),
      ...counts,
      ...(group
        ? {
            breakdown: [...groups].map(([key, c]) => ({
              // "General" records have no use case type: the property is left out (the enum has no "").
              ...(group === 'use_case' ? { use_case_id: key } : key ? { use_case_type: key } : {}),
              ...c,
            })),
          }
        : {}),
    };
  });
}

export type StatsGroup = 'use_case_id' | 'use_case_type' | 'level' | 'code' | 'date';

/** `MonitoringStatsV2` of the records. */
export function statsV2(
  records: Iterable<
    Pick<MonitoringRecord, 'created_at' | 'level' | 'use_case_id' | 'use_case_type' | 'code'>
  >,
  group?: StatsGroup,
): Record<string, unknown> {
  const counts = emptyCounts();
  const groups = new Map<string, LevelCounts>();
  let lastError: string | null = null;
  for (const r of records) {
    addLevel(counts, r.level);
    if (r.level === 'error' && (lastError === null || r.created_at > lastError)) lastError = r.created_at;
    if (group) {
      const key = group === 'date' ? r.created_at.slice(0, 10) : String(r[group]);
      const c = groups.get(key) ?? emptyCounts();
      addLevel(c, r.level);
      groups.set(key, c);
    }
  }
  return {
    total_events: counts.total_count,
    success_count: counts.success_count,
    error_count: counts.error_count,
    warning_count: counts.warning_count,
    skipped_count: counts.skipped_count,
    ack_timeout_count: 0,
    success_rate: successRate(counts),
    last_error_at: lastError,
    ...(group
      ? {
          breakdown: [...groups]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, c]) => ({ [group]: key, ...statsOf(c) })),
        }
      : {}),
  };
}

const statsOf = (c: LevelCounts) => ({
  total_events: c.total_count,
  success_count: c.success_count,
  error_count: c.error_count,
  warning_count: c.warning_count,
  skipped_count: c.skipped_count,
});

export type V1Group =
  | 'use_case_id'
  | 'sync_type'
  | 'status'
  | 'error_category'
  | 'object_type'
  | 'event_name'
  | 'date';

const v1Value = (
  r: Pick<
    MonitoringRecord,
    'created_at' | 'use_case_id' | 'sync_type' | 'level' | 'category' | 'object_type'
  >,
  g: V1Group,
): string | null => {
  switch (g) {
    case 'use_case_id':
      return r.use_case_id || null;
    case 'sync_type':
      return r.sync_type ?? 'entity';
    case 'status':
      return r.level;
    case 'error_category':
      return r.category ?? null;
    case 'object_type':
    case 'event_name':
      return r.object_type ?? null;
    case 'date':
      return r.created_at.slice(0, 10);
  }
};

/** The `inbound` half of v1 `MonitoringStats` over final records (one per outcome). */
export function statsV1Inbound(
  records: Iterable<
    Pick<
      MonitoringRecord,
      'created_at' | 'level' | 'use_case_id' | 'sync_type' | 'category' | 'object_type' | 'correlation_id'
    >
  >,
  groupBy: V1Group[] = [],
): Record<string, unknown> {
  const counts = emptyCounts();
  const correlations = new Set<string>();
  const groups = new Map<string, { key: Record<string, string | null>; counts: LevelCounts }>();
  let lastError: string | null = null;
  for (const r of records) {
    addLevel(counts, r.level);
    if (r.correlation_id) correlations.add(r.correlation_id);
    if (r.level === 'error' && (lastError === null || r.created_at > lastError)) lastError = r.created_at;
    if (groupBy.length > 0) {
      const key = Object.fromEntries(groupBy.map((g) => [g, v1Value(r, g)]));
      const id = JSON.stringify(key);
      const entry = groups.get(id) ?? { key, counts: emptyCounts() };
      addLevel(entry.counts, r.level);
      groups.set(id, entry);
    }
  }
  return {
    total_events: counts.total_count,
    total_correlations: correlations.size,
    success_count: counts.success_count,
    error_count: counts.error_count,
    skipped_count: counts.skipped_count,
    warning_count: counts.warning_count,
    success_rate: successRate(counts),
    last_error_at: lastError,
    ...(groupBy.length > 0
      ? {
          breakdown: [...groups.values()].map(({ key, counts: c }) => ({
            ...key,
            total_events: c.total_count,
            success_count: c.success_count,
            error_count: c.error_count,
            skipped_count: c.skipped_count,
            warning_count: c.warning_count,
          })),
        }
      : {}),
  };
}

/** Trace roll-up: error > warning > success > info; skipped counts as info; an empty trace is `info`. */
export function rollUp(statuses: Array<'success' | 'error' | 'warning' | 'info' | 'skipped'>): string {
  const rank = { info: 0, success: 1, warning: 2, error: 3 } as const;
  let best: keyof typeof rank = 'info';
  for (const s of statuses) {
    const status = s === 'skipped' ? 'info' : s;
    if (rank[status] > rank[best]) best = status;
  }
  return best;
}

/** A span's own status in a trace: external `info` spans are stored as `success` with `EXTERNAL_INFO`. */
export const spanStatus = (r: Pick<MonitoringRecord, 'level' | 'code'>) =>
  r.code === 'EXTERNAL_INFO' ? 'info' : r.level;

const STAGE_ORDER: Record<MonitoringStage, number> = {
  external: 0,
  accepted: 1,
  skipped: 1,
  ignored: 1,
  rejected: 1,
  replayed: 1,
  mapped: 2,
  mapping_failed: 2,
  quarantined: 2,
  relation_target_created: 3,
  prune_applied: 4,
  entity_written: 4,
  meter_reading_written: 4,
  dead_lettered: 5,
};

/**
 * Chronological order of records: by `created_at`, then (same millisecond) pipeline order of stages,
 * then event id (sortable: the order in the request), then id.
 */
export function chronological<T extends Pick<MonitoringRecord, 'created_at' | 'stage' | 'event_id' | 'id'>>(
  records: T[],
): T[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...records].sort(
    (a, b) =>
      cmp(a.created_at, b.created_at) ||
      STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage] ||
      cmp(a.event_id, b.event_id) ||
      cmp(a.id, b.id),
  );
}
