import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import { jsonSize } from './output.js';
import type { InboundConfiguration } from './types.js';

const contacts: InboundConfiguration = {
  entities: [
    {
      entity_schema: 'contact',
      jsonataExpression: 'items',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'id' },
        { attribute: 'note', field: 'note' },
      ],
    },
  ],
  meter_readings: [
    {
      jsonataExpression: 'readings',
      meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
      fields: [
        { attribute: 'external_id', field: 'id' },
        { attribute: 'timestamp', field: 'at' },
        { attribute: 'value', field: 'value' },
        { attribute: 'note', field: 'note' },
      ],
    } as never,
  ],
};

describe('bounded mapping output (issue 19, item 4)', () => {
  it('counts bytes of JSON text, and stops counting past the cap', () => {
    const value = { a: 'xyz', b: [1, true, null], é: 'é' };
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    // An upper estimate by a separator or two per container: never less than the text.
    expect(jsonSize(value)).toBeGreaterThanOrEqual(bytes);
    expect(jsonSize(value)).toBeLessThanOrEqual(bytes + 4);
    expect(jsonSize({ big: 'x'.repeat(10_000_000), more: 'y' }, 100)).toBeLessThan(10_000_100);
  });

  it('drops an update larger than one update may be, naming the limit and never the value; its siblings go on', async () => {
    const mapping = CompiledMapping.compile(contacts);
    const secret = `SECRET-${'x'.repeat(5_000)}`;
    const result = await mapping.map(
      {
        items: [
          { id: 'A', note: 'small' },
          { id: 'B', note: secret },
          { id: 'C', note: 'small' },
        ],
      },
      { maxUpdateBytes: 1_000, maxEventBytes: 100_000 },
    );
    expect(result.entity_updates.map((u) => u.unique_identifiers.customer_number)).toEqual(['A', 'C']);
    expect(result.failures).toEqual([
      expect.objectContaining({
        code: 'MAPPING_OUTPUT_TOO_LARGE',
        entity_schema: 'contact',
        element_index: 1,
        message: expect.stringContaining('MAPPING_MAX_UPDATE_BYTES, 1000 bytes'),
      }),
    ]);
    expect(JSON.stringify(result.failures)).not.toContain('SECRET');
  });

  it("drops the updates past the event's limit, entity updates and meter readings alike", async () => {
    const mapping = CompiledMapping.compile(contacts);
    const note = 'n'.repeat(400);
    const result = await mapping.map(
      {
        items: [1, 2, 3].map((i) => ({ id: `C${i}`, note })),
        readings: [{ id: 'r1', meter: 'M1', at: '2026-01-01T00:00:00Z', value: 1, note }],
      },
      { maxUpdateBytes: 1_000, maxEventBytes: 1_200 },
    );
    expect(result.entity_updates).toHaveLength(2);
    expect(result.meter_readings_updates).toHaveLength(0);
    expect(result.failures.map((f) => [f.code, f.section, f.element_index])).toEqual([
      ['MAPPING_OUTPUT_TOO_LARGE', 'entities', 2],
      ['MAPPING_OUTPUT_TOO_LARGE', 'meter_readings', 0],
    ]);
    expect(result.failures[0]!.message).toContain('MAPPING_MAX_EVENT_BYTES, 1200 bytes');
  });

  it('keeps everything under the default limits', async () => {
    const result = await CompiledMapping.compile(contacts).map({
      items: [{ id: 'A', note: 'x'.repeat(100_000) }],
    });
    expect(result.failures).toEqual([]);
    expect(result.entity_updates).toHaveLength(1);
  });
});
