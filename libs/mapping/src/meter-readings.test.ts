import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import { normaliseTimestamp } from './timestamp.js';
import type { MeterReadingConfig } from './types.js';

const fields: MeterReadingConfig['fields'] = [
  { attribute: 'external_id', field: 'reading_id' },
  { attribute: 'timestamp', field: 'read_at' },
  { attribute: 'source', constant: 'ERP' },
  { attribute: 'value', field: 'value' },
  { attribute: 'reason', field: 'reason' },
  { attribute: 'direction', field: 'direction' },
];

/** The reference's `with_meter_readings` example. */
const reference: MeterReadingConfig = {
  jsonataExpression: '$.readings',
  meter: { unique_ids: [{ attribute: 'external_id', field: 'meter_id' }] },
  fields,
};

const reading = (extra: Record<string, unknown> = {}) => ({
  meter_id: 'M-001',
  reading_id: 'R-001',
  read_at: '2025-01-15T10:00:00Z',
  value: 12345.6,
  ...extra,
});

async function run(config: MeterReadingConfig, payload: unknown) {
  return CompiledMapping.compile({ meter_readings: [config] }).map(payload);
}

describe('meter readings', () => {
  it('maps the reference example', async () => {
    const result = await run(reference, { number: 'CTR-001', readings: [reading()] });
    expect(result.failures).toEqual([]);
    expect(result.meter_readings_updates).toEqual([
      {
        meter: { $entity_unique_ids: { external_id: 'M-001' } },
        attributes: {
          external_id: 'R-001',
          timestamp: '2025-01-15T10:00:00.000Z',
          source: 'ERP',
          value: 12345.6,
        },
        mode: 'upsert',
      },
    ]);
  });

  it.each([
    {
      name: 'no jsonataExpression: the payload is one reading; plain-string meter ids (decision 10)',
      config: { meter: { unique_ids: ['meter_id'] }, fields },
      payload: reading({ read_at: '2025-03-01' }),
      expected: [
        {
          meter: { $entity_unique_ids: { meter_id: 'M-001' } },
          attributes: {
            external_id: 'R-001',
            timestamp: '2025-03-01T00:00:00.000Z',
            source: 'ERP',
            value: 12345.6,
          },
          mode: 'upsert',
        },
      ],
    },
    {
      name: 'meter counter, reason, direction, delete mode',
      config: {
        ...reference,
        mode: 'delete',
        meter_counter: { unique_ids: [{ attribute: 'obis', field: 'obis' }] },
      },
      payload: { readings: [reading({ obis: '1-0:1.8.0', reason: 'regular', direction: 'feed-in' })] },
      expected: [
        {
          meter: { $entity_unique_ids: { external_id: 'M-001' } },
          meter_counter: { $entity_unique_ids: { obis: '1-0:1.8.0' } },
          attributes: {
            external_id: 'R-001',
            timestamp: '2025-01-15T10:00:00.000Z',
            source: 'ERP',
            value: 12345.6,
            reason: 'regular',
            direction: 'feed-in',
          },
          mode: 'delete',
        },
      ],
    },
    {
      name: 'strict-date matching is carried for the writer; offsets are converted to UTC',
      config: { ...reference, reading_matching: 'strict-date' },
      payload: { readings: [reading({ read_at: '2025-06-30T23:30:00+02:00', value: '17.5' })] },
      expected: [
        {
          meter: { $entity_unique_ids: { external_id: 'M-001' } },
          attributes: {
            external_id: 'R-001',
            timestamp: '2025-06-30T21:30:00.000Z',
            source: 'ERP',
            value: '17.5',
          },
          mode: 'upsert',
          reading_matching: 'strict-date',
        },
      ],
    },
    {
      name: 'an expression yielding nothing gives no readings',
      config: reference,
      payload: { readings: [] },
      expected: [],
    },
  ] as Array<{ name: string; config: MeterReadingConfig; payload: unknown; expected: unknown }>)(
    '$name',
    async ({ config, payload, expected }) => {
      const result = await run(config, payload);
      expect(result.failures).toEqual([]);
      expect(result.meter_readings_updates).toEqual(expected);
    },
  );

  it.each([
    { name: 'German date', extra: { read_at: '15.01.2025' }, attribute: 'timestamp' },
    { name: 'epoch millis', extra: { read_at: 1736935200000 }, attribute: 'timestamp' },
    { name: 'impossible date', extra: { read_at: '2025-02-30' }, attribute: 'timestamp' },
    { name: 'missing timestamp', extra: { read_at: undefined }, attribute: 'timestamp' },
    { name: 'missing external id', extra: { reading_id: '' }, attribute: 'external_id' },
    { name: 'missing value', extra: { value: null }, attribute: 'value' },
    { name: 'non-numeric value', extra: { value: '12,5' }, attribute: 'value' },
  ])('rejects only the bad reading: $name', async ({ extra, attribute }) => {
    const result = await run(reference, { readings: [reading({ reading_id: 'OK' }), reading(extra)] });
    expect(result.meter_readings_updates.map((u) => u.attributes.external_id)).toEqual(['OK']);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({
      code: 'METER_READING_INVALID',
      section: 'meter_readings',
      entity_schema: 'meter_reading',
      entity_index: 0,
      element_index: 1,
      attribute,
    });
  });

  it.each([
    {
      name: 'missing meter id',
      config: { ...reference, meter: { unique_ids: ['nope'] } },
      code: 'UNIQUE_ID_MISSING',
      attribute: 'meter',
    },
  ] as Array<{ name: string; config: MeterReadingConfig; code: string; attribute: string }>)(
    'fails the reading: $name',
    async ({ config, code, attribute }) => {
      const result = await run(config, { readings: [reading()] });
      expect(result.meter_readings_updates).toEqual([]);
      expect(result.failures.map((f) => [f.code, f.attribute])).toEqual([[code, attribute]]);
    },
  );

  it('keeps a reading whose reason or source is outside the documented values, with a warning naming the path and the values (issue 20)', async () => {
    const config: MeterReadingConfig = {
      ...reference,
      fields: fields.map((f) => (f.attribute === 'source' ? { attribute: 'source', field: 'src' } : f)),
    };
    const result = await run(config, {
      readings: [
        reading({ reading_id: 'R1', reason: 'monthly_billing', src: 'ERP' }),
        reading({ reading_id: 'R2', reason: 'regular', src: 'SAP' }),
        reading({ reading_id: 'R3', reason: 'monthly_billing' }),
        reading({ reading_id: 'R4', reason: 'monthly_billing', src: 'ERP', value: undefined }),
      ],
    });
    expect(result.meter_readings_updates.map((u) => u.attributes)).toEqual([
      expect.objectContaining({ external_id: 'R1', reason: 'monthly_billing', source: 'ERP' }),
      expect.objectContaining({ external_id: 'R2', reason: 'regular', source: 'SAP' }),
      expect.objectContaining({ external_id: 'R3', reason: 'monthly_billing' }),
    ]);
    const reasons = 'regular, irregular, last, first, meter_change, contract_change, meter_adjustment';
    expect(result.warnings).toEqual([
      {
        entity_schema: 'meter_reading',
        field: 'reason',
        message: `meter_readings[0].fields[4] (reading 0): reason "monthly_billing" is not one of the documented values (${reasons}); kept as given`,
      },
      {
        entity_schema: 'meter_reading',
        field: 'source',
        message:
          'meter_readings[0].fields[2] (reading 1): source "SAP" is not one of the documented values (ECP, ERP, 360, journey-submission); kept as given',
      },
      {
        entity_schema: 'meter_reading',
        field: 'source',
        message:
          'meter_readings[0].fields[2] (reading 2): no source; the reading is kept without one (documented values: ECP, ERP, 360, journey-submission)',
      },
      {
        entity_schema: 'meter_reading',
        field: 'reason',
        message: `meter_readings[0].fields[4] (reading 2): reason "monthly_billing" is not one of the documented values (${reasons}); kept as given`,
      },
    ]);
    // R4 has no value: unusable, so it fails (and its warnings are not reported twice).
    expect(result.failures.map((f) => [f.code, f.element_index, f.attribute])).toEqual([
      ['METER_READING_INVALID', 3, 'value'],
    ]);
  });

  it('upsert-prune-scope: one prune scope per meter + counter, with the kept external ids and source', async () => {
    const config: MeterReadingConfig = {
      ...reference,
      mode: 'upsert-prune-scope',
      scope: { source: 'ERP' },
      meter_counter: { unique_ids: ['obis'] },
    };
    const result = await run(config, {
      readings: [
        reading({ reading_id: 'R1', obis: 'A' }),
        reading({ reading_id: 'R2', obis: 'A' }),
        reading({ reading_id: 'R3', obis: 'B' }),
        reading({ reading_id: 4, meter_id: 'M-002', obis: 'A' }),
      ],
    });
    expect(result.failures).toEqual([]);
    expect(result.meter_readings_updates.map((u) => u.mode)).toEqual([
      'upsert',
      'upsert',
      'upsert',
      'upsert',
    ]);
    expect(result.meter_readings_prune_scope_updates).toEqual([
      {
        meter: { $entity_unique_ids: { external_id: 'M-001' } },
        meter_counter: { $entity_unique_ids: { obis: 'A' } },
        keep_external_ids: ['R1', 'R2'],
        source: 'ERP',
      },
      {
        meter: { $entity_unique_ids: { external_id: 'M-001' } },
        meter_counter: { $entity_unique_ids: { obis: 'B' } },
        keep_external_ids: ['R3'],
        source: 'ERP',
      },
      {
        meter: { $entity_unique_ids: { external_id: 'M-002' } },
        meter_counter: { $entity_unique_ids: { obis: 'A' } },
        keep_external_ids: ['4'],
        source: 'ERP',
      },
    ]);
  });

  it.each([
    {
      name: 'no readings, the payload names the meter: prune everything of it',
      payload: { meter_id: 'M-9', readings: [] },
      scopes: [{ meter: { $entity_unique_ids: { external_id: 'M-9' } }, keep_external_ids: [] }],
      warnings: 0,
      failures: [],
    },
    {
      name: 'no readings and no meter in the payload: nothing pruned, a warning',
      payload: { readings: [] },
      scopes: [],
      warnings: 1,
      failures: [],
    },
    {
      name: 'a failing reading: pruning skipped',
      payload: { readings: [reading(), reading({ read_at: 'yesterday' })] },
      scopes: [],
      warnings: 0,
      failures: ['METER_READING_INVALID', 'PRUNE_SCOPE_SKIPPED'],
    },
  ])('upsert-prune-scope edge: $name', async ({ payload, scopes, warnings, failures }) => {
    const result = await run({ ...reference, mode: 'upsert-prune-scope' }, payload);
    expect(result.meter_readings_prune_scope_updates).toEqual(scopes);
    expect(result.warnings).toHaveLength(warnings);
    expect(result.failures.map((f) => f.code)).toEqual(failures);
  });
});

describe('normaliseTimestamp', () => {
  it.each([
    ['2025-01-15', '2025-01-15T00:00:00.000Z'],
    ['2025-01-15T10:00:00', '2025-01-15T10:00:00.000Z'],
    ['2025-01-15T10:00:00Z', '2025-01-15T10:00:00.000Z'],
    ['2025-01-15T10:00:00.5Z', '2025-01-15T10:00:00.500Z'],
    ['2025-01-15T10:00:00.123456Z', '2025-01-15T10:00:00.123Z'],
    ['2025-01-15T10:00:00+01:00', '2025-01-15T09:00:00.000Z'],
    ['2025-01-01T00:30:00+02:00', '2024-12-31T22:30:00.000Z'],
    ['2025-01-15T10:00:00-05:30', '2025-01-15T15:30:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['15.01.2025', undefined],
    ['2025-01-15T10:00', undefined],
    ['2025-01-15 10:00:00', undefined],
    ['2025-13-01', undefined],
    ['2025-02-29', undefined],
    ['2025-01-15T24:00:00Z', undefined],
    ['2025-01-15T10:00:00+0100', undefined],
    [1736935200000, undefined],
    ['', undefined],
  ])('%j -> %j', (input, expected) => {
    expect(normaliseTimestamp(input)).toBe(expected);
  });
});
