import { describe, expect, it } from 'vitest';
import { sumSeries } from './managed-stack.js';

describe('sumSeries', () => {
  it('adds every labelled series of one metric and ignores the others', () => {
    const text = [
      '# HELP hub_entity_writes_total Entity updates applied',
      '# TYPE hub_entity_writes_total counter',
      'hub_entity_writes_total{kind="entity",outcome="created",service="entity-writer"} 12',
      'hub_entity_writes_total{kind="entity",outcome="updated",service="entity-writer"} 30',
      'hub_entity_writes_total_other 99',
      'hub_dead_letters_total{code="X"} 5',
    ].join('\n');
    expect(sumSeries(text, 'hub_entity_writes_total')).toBe(42);
  });

  it('reads an unlabelled series and is 0 for a metric that is absent', () => {
    expect(sumSeries('hub_mapped_events_total 7\n', 'hub_mapped_events_total')).toBe(7);
    expect(sumSeries('', 'hub_mapped_events_total')).toBe(0);
  });
});
