import { describe, expect, it } from 'vitest';
import {
  badFigures,
  benchVerdict,
  FIGURE_KEYS,
  type Figure,
  formatValue,
  type PhaseOutcome,
  ratio,
  renderTable,
  shapeReport,
} from './report.js';

const complete = (): Figure[] =>
  FIGURE_KEYS.map((key) => ({ key, section: 'ceilings', label: key, value: 1, unit: 'events/s' }));

describe('badFigures', () => {
  it('accepts a run with every figure a positive number', () => {
    expect(badFigures(complete())).toEqual([]);
  });

  it('names the figures that are missing, NaN, infinite or zero', () => {
    const figures = complete().filter((f) => f.key !== 'alone.writer');
    figures.find((f) => f.key === 'ceiling.producer')!.value = Number.NaN;
    figures.find((f) => f.key === 'growth.large')!.value = 0;
    figures.find((f) => f.key === 'ordering.visible')!.value = Number.POSITIVE_INFINITY;
    expect(badFigures(figures)).toEqual([
      'ceiling.producer',
      'alone.writer',
      'growth.large',
      'ordering.visible',
    ]);
  });
});

describe('the per-event figures (issue 22)', () => {
  it('prints documents, commands and CPU per event with two or three decimals', () => {
    expect(formatValue(2.345, 'docs/event')).toBe('2.35');
    expect(formatValue(0.0512, 'commands/event')).toBe('0.051');
    expect(formatValue(1.1, 'ms/event')).toBe('1.10');
  });

  it('fails a run whose database counts, CPU per event or history figure is missing or NaN', () => {
    const figures = complete().filter((f) => f.key !== 'e2e.db.documents' && f.key !== 'history.processed');
    figures.find((f) => f.key === 'e2e.db.commands')!.value = Number.NaN;
    expect(badFigures(figures)).toEqual(['e2e.db.documents', 'e2e.db.commands', 'history.processed']);
    expect(
      benchVerdict({ missing: badFigures(figures), errors: {}, phases: {}, unplannedExits: [] }),
    ).toEqual(['no figure for e2e.db.documents, e2e.db.commands, history.processed']);
  });
});

describe('ratio', () => {
  it('divides positive numbers and is NaN otherwise', () => {
    expect(ratio(300, 600)).toBe(0.5);
    expect(ratio(300, 0)).toBeNaN();
    expect(ratio(undefined, 10)).toBeNaN();
  });
});

describe('renderTable', () => {
  it('prints one row per figure under its section, with count and duration', () => {
    const text = renderTable('Benchmark', [
      {
        key: 'ceiling.producer',
        section: 'ceilings',
        label: 'raw producer',
        value: 21299.4,
        unit: 'events/s',
        count: 20_000,
        durationMs: 939,
      },
      { key: 'ratio.growth', section: 'ratios', label: 'growth', value: 0.8123, unit: '×' },
    ]);
    expect(text).toContain('-- ceilings');
    expect(text).toMatch(/raw producer\s+21,299\s+events\/s\s+20,000\s+0\.9 s/);
    expect(text).toMatch(/-- ratios\n\s+growth\s+0\.81\s+×/);
  });
});

describe('formatValue', () => {
  it('keeps a decimal below 100 and four for tiny ratios', () => {
    expect(formatValue(12.34, 'events/s')).toBe('12.3');
    expect(formatValue(0.0005, '×')).toBe('0.0005');
    expect(formatValue(Number.NaN, 'ms')).toBe('NaN');
  });
});

describe('shapeReport', () => {
  it('keys the figures and lists what is missing', () => {
    const report = shapeReport({ form: 'quick' }, complete().slice(1));
    expect(report.form).toBe('quick');
    expect(Object.keys(report.figures)).toHaveLength(FIGURE_KEYS.length - 1);
    expect(report.missing).toEqual(['ceiling.producer']);
  });
});

describe('benchVerdict', () => {
  const clean = () => ({
    missing: [] as string[],
    errors: {} as Record<string, string>,
    phases: {
      'phase A': { refused: {}, events: { success: 300 }, accepted: 300, processed: 300 },
      'gateway alone': { refused: {}, events: { success: 500 }, accepted: 500 },
    } as Record<'phase A' | 'gateway alone', PhaseOutcome>,
    unplannedExits: [] as string[],
  });

  it('passes a run with every figure, every event accepted and processed', () => {
    expect(benchVerdict(clean())).toEqual([]);
  });

  it('fails when events accepted were not all processed (the drain came back short)', () => {
    const run = clean();
    run.phases['phase A'].processed = 299;
    expect(benchVerdict(run)).toEqual(['phase A: 299 of 300 accepted events processed']);
  });

  it('fails on 5xx, 429 and lost answers, and on events not accepted', () => {
    const run = clean();
    run.phases['gateway alone'].refused = { 503: 2, 429: 1, 'no answer': 1 };
    run.phases['phase A'].events = { success: 300, error: 3 };
    expect(benchVerdict(run)).toEqual([
      'phase A: events not accepted: 3 error',
      'gateway alone: answers other than 200: 1× 429, 2× 503, 1× no answer',
    ]);
  });

  it('fails on a step error even when its figures were recorded, and on an unplanned exit', () => {
    expect(
      benchVerdict({ ...clean(), errors: { growth: 'timed out' }, unplannedExits: ['mapper#0 exited (1)'] }),
    ).toEqual(['step "growth" failed: timed out', 'unplanned exit: mapper#0 exited (1)']);
  });

  it('fails on a missing figure', () => {
    expect(benchVerdict({ ...clean(), missing: ['alone.writer'] })).toEqual(['no figure for alone.writer']);
  });
});
