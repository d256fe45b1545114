/** One measured figure of a run: printed as a table row and kept in the JSON report under its key. */
export interface Figure {
  key: FigureKey;
  section: 'ceilings' | 'end to end' | 'consumers alone' | 'growth' | 'reads' | 'ordering' | 'ratios';
  label: string;
  value: number;
  unit: 'events/s' | 'updates/s' | 'ms' | '×';
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
  'e2e.accepted',
  'e2e.processed',
  'e2e.latency.p50',
  'e2e.latency.p95',
  'e2e.latency.p99',
  'e2e.half.offered',
  'e2e.half.latency.p99',
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
  'ratio.gateway_to_producer',
  'ratio.e2e_accepted_to_producer',
  'ratio.processed_to_database',
  'ratio.growth',
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
