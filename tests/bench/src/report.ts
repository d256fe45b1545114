/** One measured figure of a run: printed as a table row and kept in the JSON report under its key. */
export interface Figure {
  key: FigureKey;
  section:
    | 'ceilings'
    | 'end to end'
    | 'database and CPU per event'
    | 'history'
    | 'consumers alone'
    | 'growth'
    | 'reads'
    | 'ordering'
    | 'noisy neighbour'
    | 'ratios';
  label: string;
  value: number;
  unit: 'events/s' | 'updates/s' | 'ms' | '×' | 'docs/event' | 'commands/event' | 'ms/event';
  /** Events or updates the figure was measured over. */
  count?: number;
  /** The time it was measured over. */
  durationMs?: number;
  note?: string;
}

/** Every figure a run must produce (issue 11, "Deliver 1" and the targets' ratios). */
export const FIGURE_KEYS = [
  'ceiling.producer',
  'ceiling.database',
  'ceiling.gateway',
  'e2e.accepted',
  'e2e.processed',
  'e2e.latency.p50',
  'e2e.latency.p95',
  'e2e.latency.p99',
  'e2e.db.documents',
  'e2e.db.commands',
  'e2e.cpu.services',
  'limit.database',
  'limit.services_cpu',
  'e2e.half.offered',
  'e2e.half.latency.p99',
  'e2e.half.stage.accepted',
  'e2e.half.stage.mapped',
  'e2e.half.stage.written',
  'e2e.half.stage.arrived',
  'alone.gateway',
  'alone.mapper',
  'alone.writer',
  'growth.small',
  'growth.large',
  'reads.small.p50',
  'reads.small.p99',
  'reads.large.p50',
  'reads.large.p99',
  'reads.ratio.p99',
  'ordering.processed',
  'ordering.visible',
  'noisy.quiet.request.p50',
  'noisy.quiet.request.p99',
  'noisy.quiet.processed.p50',
  'noisy.quiet.processed.p99',
  'noisy.attack.request.p50',
  'noisy.attack.request.p99',
  'noisy.attack.processed.p50',
  'noisy.attack.processed.p99',
  'noisy.ratio.p99',
  'ratio.gateway_to_producer',
  'ratio.gateway_to_ceiling',
  'ratio.e2e_accepted_to_producer',
  'ratio.processed_to_database',
  'ratio.growth',
  'history.processed',
  'ratio.history_to_empty',
] as const;
export type FigureKey = (typeof FIGURE_KEYS)[number];

/** Keys of the figures that are missing, not a number, infinite, zero or negative: the run did not measure them. */
export function badFigures(figures: readonly Figure[]): string[] {
  const byKey = new Map(figures.map((f) => [f.key, f]));
  return FIGURE_KEYS.filter((key) => {
    const value = byKey.get(key)?.value;
    return value === undefined || !Number.isFinite(value) || value <= 0;
  });
}

/** a / b, NaN when either is not a positive number. */
export function ratio(a: number | undefined, b: number | undefined): number {
  return a !== undefined && b !== undefined && a > 0 && b > 0 ? a / b : Number.NaN;
}

export function formatValue(value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === '×') return value.toFixed(value < 0.01 ? 4 : 2);
  if (unit.endsWith('/event')) return value.toFixed(value < 0.1 ? 3 : 2);
  const digits = Math.abs(value) >= 100 ? 0 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const seconds = (ms: number | undefined) => (ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`);

/** The figures as a text table, one block per section in the order they were measured. */
export function renderTable(title: string, figures: readonly Figure[]): string {
  const rows = figures.map((f) => ({
    section: f.section,
    cells: [
      f.label,
      formatValue(f.value, f.unit),
      f.unit,
      f.count === undefined ? '' : f.count.toLocaleString('en-US'),
      seconds(f.durationMs),
      f.note ?? '',
    ],
  }));
  const header = ['figure', 'value', 'unit', 'count', 'over', 'how'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells
      .map((c, i) => (i === 1 || i === 3 || i === 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}`;
  const out = [title, line(header)];
  let section = '';
  for (const row of rows) {
    if (row.section !== section) {
      section = row.section;
      out.push(`  -- ${section}`);
    }
    out.push(line(row.cells));
  }
  return `${out.join('\n')}\n`;
}

/** The JSON report: the run's context, then every figure by key. */
export function shapeReport<C extends Record<string, unknown>>(context: C, figures: readonly Figure[]) {
  return {
    ...context,
    figures: Object.fromEntries(figures.map(({ key, ...rest }) => [key, rest])),
    missing: badFigures(figures),
  };
}

/** What one load phase got back, as the verdict reads it. */
export interface PhaseOutcome {
  /** Answers other than 200 by status, and `no answer`. */
  refused: Record<string, number>;
  /** Events by result status. */
  events: Record<string, number>;
  accepted: number;
  /** Accepted events whose processed-entity message arrived; omit for a phase nothing processes. */
  processed?: number;
}

/**
 * Why a run fails, one line each; empty when it passed. A figure missing or not positive; a step that
 * failed, even after its figures were recorded; an answer other than 200 (a 5xx, a 429, no answer: the
 * bench stack runs no faults and has no rate limit to meet, so every refusal is a lost measurement or a
 * defect); an event answered anything but `success`; fewer events processed than accepted; an unplanned
 * exit.
 */
export function benchVerdict(run: {
  missing: string[];
  errors: Record<string, string>;
  phases: Record<string, PhaseOutcome>;
  unplannedExits: string[];
}): string[] {
  const reasons: string[] = [];
  if (run.missing.length > 0) reasons.push(`no figure for ${run.missing.join(', ')}`);
  for (const [step, message] of Object.entries(run.errors)) reasons.push(`step "${step}" failed: ${message}`);
  for (const [phase, p] of Object.entries(run.phases)) {
    const refused = Object.entries(p.refused).filter(([, n]) => n > 0);
    if (refused.length > 0) {
      reasons.push(`${phase}: answers other than 200: ${refused.map(([s, n]) => `${n}× ${s}`).join(', ')}`);
    }
    const failed = Object.entries(p.events).filter(([status, n]) => status !== 'success' && n > 0);
    if (failed.length > 0) {
      reasons.push(`${phase}: events not accepted: ${failed.map(([s, n]) => `${n} ${s}`).join(', ')}`);
    }
    if (p.processed !== undefined && p.processed < p.accepted) {
      reasons.push(`${phase}: ${p.processed} of ${p.accepted} accepted events processed`);
    }
  }
  for (const exit of run.unplannedExits) reasons.push(`unplanned exit: ${exit}`);
  return reasons;
}
