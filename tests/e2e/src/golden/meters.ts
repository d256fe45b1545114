/** Golden cases: a contract with meter, counter and readings; reading matching, delete and prune. */
import { meterRef, meterRelation } from './shared.js';
import type { GoldenCase } from './types.js';

const contractWithReadings = {
  entities: [
    {
      entity_schema: 'contract',
      unique_ids: ['contract_number'],
      fields: [{ attribute: 'contract_number', field: 'contractNo' }, meterRelation],
    },
    {
      entity_schema: 'meter',
      unique_ids: ['meter_number'],
      jsonataExpression: 'meters',
      fields: [
        { attribute: 'meter_number', field: 'id' },
        { attribute: 'medium', field: 'medium' },
        {
          attribute: 'counters',
          relations: {
            operation: '_set',
            jsonataExpression:
              '[counters.{"entity_schema": "meter_counter", "unique_ids": {"counter_id": id}}]',
          },
        },
      ],
    },
    {
      entity_schema: 'meter_counter',
      unique_ids: ['counter_id'],
      jsonataExpression: '[meters.counters]',
      fields: [
        { attribute: 'counter_id', field: 'id' },
        { attribute: 'obis', field: 'obis' },
      ],
    },
  ],
  meter_readings: [
    {
      jsonataExpression:
        '[meters.($m := id; readings.{"meter": $m, "counter": counter, "id": id, "at": at, "value": value})]',
      mode: 'upsert-prune-scope',
      scope: { source: 'ERP' },
      meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
      meter_counter: { unique_ids: [{ attribute: 'counter_id', field: 'counter' }] },
      fields: [
        { attribute: 'external_id', field: 'id' },
        { attribute: 'timestamp', field: 'at' },
        { attribute: 'source', constant: 'ERP' },
        { attribute: 'value', field: 'value' },
        { attribute: 'reason', constant: 'regular' },
      ],
    },
  ],
};

const strictDateReadings = {
  entities: [
    {
      entity_schema: 'meter',
      unique_ids: ['meter_number'],
      fields: [{ attribute: 'meter_number', field: 'meter' }],
    },
  ],
  meter_readings: [
    {
      jsonataExpression: '[($m := meter; readings.{"meter": $m, "id": id, "at": at, "value": value})]',
      reading_matching: 'strict-date',
      meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
      fields: [
        { attribute: 'external_id', field: 'id' },
        { attribute: 'timestamp', field: 'at' },
        { attribute: 'source', constant: 'ECP' },
        { attribute: 'value', field: 'value' },
      ],
    },
  ],
};

const readingFields = [
  { attribute: 'external_id', field: 'id' },
  { attribute: 'timestamp', field: 'at' },
  { attribute: 'source', constant: 'ERP' },
  { attribute: 'value', field: 'value' },
];

const readingUpsertAndDelete = {
  entities: [
    {
      entity_schema: 'meter',
      unique_ids: ['meter_number'],
      fields: [{ attribute: 'meter_number', field: 'meter' }],
    },
  ],
  meter_readings: ['upsert', 'delete'].map((mode) => ({
    jsonataExpression: `[($m := meter; ${mode}.{"meter": $m, "id": id, "at": at, "value": value})]`,
    mode,
    meter: { unique_ids: [{ attribute: 'meter_number', field: 'meter' }] },
    fields: readingFields,
  })),
};

export const METER_CASES: GoldenCase[] = [
  {
    name: 'contract with meter, counter and readings; the reading prune scope drops readings not sent',
    configuration: contractWithReadings,
    steps: [
      {
        payload: {
          contractNo: 'K-7',
          meters: [
            {
              id: 'M-71',
              medium: 'power',
              counters: [{ id: 'M-71/1.8.0', obis: '1-0:1.8.0' }],
              readings: [
                { counter: 'M-71/1.8.0', id: 'R-1', at: '2025-01-15', value: 100 },
                { counter: 'M-71/1.8.0', id: 'R-2', at: '2025-02-15T10:00:00+01:00', value: 150.5 },
              ],
            },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contract',
              unique_identifiers: { contract_number: 'K-7' },
              attributes: {
                contract_number: 'K-7',
                meters: {
                  $relation: {
                    _set: [{ $entity_unique_ids: { meter_number: 'M-71' }, _schema: 'meter', _tags: [] }],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-71' },
              attributes: {
                meter_number: 'M-71',
                medium: 'power',
                counters: {
                  $relation: {
                    _set: [
                      {
                        $entity_unique_ids: { counter_id: 'M-71/1.8.0' },
                        _schema: 'meter_counter',
                        _tags: [],
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter_counter',
              unique_identifiers: { counter_id: 'M-71/1.8.0' },
              attributes: { counter_id: 'M-71/1.8.0', obis: '1-0:1.8.0' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              attributes: {
                external_id: 'R-1',
                timestamp: '2025-01-15T00:00:00.000Z',
                source: 'ERP',
                value: 100,
                reason: 'regular',
              },
              mode: 'upsert',
            },
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              attributes: {
                external_id: 'R-2',
                timestamp: '2025-02-15T09:00:00.000Z',
                source: 'ERP',
                value: 150.5,
                reason: 'regular',
              },
              mode: 'upsert',
            },
          ],
          meter_readings_prune_scope_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              keep_external_ids: ['R-1', 'R-2'],
              source: 'ERP',
            },
          ],
        },
        stored: {
          meter: {
            'M-71': {
              meter_number: 'M-71',
              medium: 'power',
              counters: {
                $relation: [{ entity: 'meter_counter/M-71/1.8.0', _schema: 'meter_counter', _tags: [] }],
              },
            },
          },
          meter_counter: { 'M-71/1.8.0': { counter_id: 'M-71/1.8.0', obis: '1-0:1.8.0' } },
          contract: { 'K-7': { contract_number: 'K-7', meters: { $relation: [meterRef('M-71')] } } },
          meter_readings: {
            'meter/M-71': [
              {
                counter: 'meter_counter/M-71/1.8.0',
                external_id: 'R-1',
                timestamp: '2025-01-15T00:00:00.000Z',
                source: 'ERP',
                value: 100,
                reason: 'regular',
              },
              {
                counter: 'meter_counter/M-71/1.8.0',
                external_id: 'R-2',
                timestamp: '2025-02-15T09:00:00.000Z',
                source: 'ERP',
                value: 150.5,
                reason: 'regular',
              },
            ],
          },
        },
      },
      {
        payload: {
          contractNo: 'K-7',
          meters: [
            {
              id: 'M-71',
              medium: 'power',
              counters: [{ id: 'M-71/1.8.0', obis: '1-0:1.8.0' }],
              readings: [
                { counter: 'M-71/1.8.0', id: 'R-2', at: '2025-02-15T10:00:00+01:00', value: 155 },
                { counter: 'M-71/1.8.0', id: 'R-3', at: '2025-03-15', value: '201.25' },
              ],
            },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contract',
              unique_identifiers: { contract_number: 'K-7' },
              attributes: {
                contract_number: 'K-7',
                meters: {
                  $relation: {
                    _set: [{ $entity_unique_ids: { meter_number: 'M-71' }, _schema: 'meter', _tags: [] }],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-71' },
              attributes: {
                meter_number: 'M-71',
                medium: 'power',
                counters: {
                  $relation: {
                    _set: [
                      {
                        $entity_unique_ids: { counter_id: 'M-71/1.8.0' },
                        _schema: 'meter_counter',
                        _tags: [],
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter_counter',
              unique_identifiers: { counter_id: 'M-71/1.8.0' },
              attributes: { counter_id: 'M-71/1.8.0', obis: '1-0:1.8.0' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              attributes: {
                external_id: 'R-2',
                timestamp: '2025-02-15T09:00:00.000Z',
                source: 'ERP',
                value: 155,
                reason: 'regular',
              },
              mode: 'upsert',
            },
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              attributes: {
                external_id: 'R-3',
                timestamp: '2025-03-15T00:00:00.000Z',
                source: 'ERP',
                value: '201.25',
                reason: 'regular',
              },
              mode: 'upsert',
            },
          ],
          meter_readings_prune_scope_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-71' } },
              meter_counter: { $entity_unique_ids: { counter_id: 'M-71/1.8.0' } },
              keep_external_ids: ['R-2', 'R-3'],
              source: 'ERP',
            },
          ],
        },
        stored: {
          meter: {
            'M-71': {
              meter_number: 'M-71',
              medium: 'power',
              counters: {
                $relation: [{ entity: 'meter_counter/M-71/1.8.0', _schema: 'meter_counter', _tags: [] }],
              },
            },
          },
          meter_counter: { 'M-71/1.8.0': { counter_id: 'M-71/1.8.0', obis: '1-0:1.8.0' } },
          contract: { 'K-7': { contract_number: 'K-7', meters: { $relation: [meterRef('M-71')] } } },
          meter_readings: {
            'meter/M-71': [
              {
                counter: 'meter_counter/M-71/1.8.0',
                external_id: 'R-2',
                timestamp: '2025-02-15T09:00:00.000Z',
                source: 'ERP',
                value: 155,
                reason: 'regular',
              },
              {
                counter: 'meter_counter/M-71/1.8.0',
                external_id: 'R-3',
                timestamp: '2025-03-15T00:00:00.000Z',
                source: 'ERP',
                value: '201.25',
                reason: 'regular',
              },
            ],
          },
        },
      },
    ],
  },
  {
    name: 'strict-date matching: a reading on the same Berlin day replaces the stored one',
    configuration: strictDateReadings,
    steps: [
      {
        payload: { meter: 'M-81', readings: [{ id: 'E-1', at: '2025-03-10T23:30:00Z', value: 10 }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-81' },
              attributes: { meter_number: 'M-81' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-81' } },
              attributes: {
                external_id: 'E-1',
                timestamp: '2025-03-10T23:30:00.000Z',
                source: 'ECP',
                value: 10,
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          meter: { 'M-81': { meter_number: 'M-81' } },
          meter_readings: {
            'meter/M-81': [
              { external_id: 'E-1', timestamp: '2025-03-10T23:30:00.000Z', source: 'ECP', value: 10 },
            ],
          },
        },
      },
      {
        payload: { meter: 'M-81', readings: [{ id: 'E-2', at: '2025-03-11T08:00:00Z', value: 11 }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-81' },
              attributes: { meter_number: 'M-81' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-81' } },
              attributes: {
                external_id: 'E-2',
                timestamp: '2025-03-11T08:00:00.000Z',
                source: 'ECP',
                value: 11,
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          meter: { 'M-81': { meter_number: 'M-81' } },
          meter_readings: {
            'meter/M-81': [
              { external_id: 'E-2', timestamp: '2025-03-11T08:00:00.000Z', source: 'ECP', value: 11 },
            ],
          },
        },
      },
      {
        payload: { meter: 'M-81', readings: [{ id: 'E-3', at: '2025-03-10T12:00:00Z', value: 9 }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-81' },
              attributes: { meter_number: 'M-81' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-81' } },
              attributes: {
                external_id: 'E-3',
                timestamp: '2025-03-10T12:00:00.000Z',
                source: 'ECP',
                value: 9,
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          meter: { 'M-81': { meter_number: 'M-81' } },
          meter_readings: {
            'meter/M-81': [
              { external_id: 'E-3', timestamp: '2025-03-10T12:00:00.000Z', source: 'ECP', value: 9 },
              { external_id: 'E-2', timestamp: '2025-03-11T08:00:00.000Z', source: 'ECP', value: 11 },
            ],
          },
        },
      },
    ],
  },
  {
    name: 'meter reading delete removes the reading with that external id',
    configuration: readingUpsertAndDelete,
    steps: [
      {
        payload: {
          meter: 'M-91',
          upsert: [
            { id: 'R-91', at: '2025-04-01', value: 1 },
            { id: 'R-92', at: '2025-04-02', value: 2 },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-91' },
              attributes: { meter_number: 'M-91' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-91' } },
              attributes: {
                external_id: 'R-91',
                timestamp: '2025-04-01T00:00:00.000Z',
                source: 'ERP',
                value: 1,
              },
              mode: 'upsert',
            },
            {
              meter: { $entity_unique_ids: { meter_number: 'M-91' } },
              attributes: {
                external_id: 'R-92',
                timestamp: '2025-04-02T00:00:00.000Z',
                source: 'ERP',
                value: 2,
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          meter: { 'M-91': { meter_number: 'M-91' } },
          meter_readings: {
            'meter/M-91': [
              { external_id: 'R-91', timestamp: '2025-04-01T00:00:00.000Z', source: 'ERP', value: 1 },
              { external_id: 'R-92', timestamp: '2025-04-02T00:00:00.000Z', source: 'ERP', value: 2 },
            ],
          },
        },
      },
      {
        payload: { meter: 'M-91', delete: [{ id: 'R-91' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-91' },
              attributes: { meter_number: 'M-91' },
              mode: 'upsert',
            },
          ],
          meter_readings_updates: [
            {
              meter: { $entity_unique_ids: { meter_number: 'M-91' } },
              attributes: { external_id: 'R-91', source: 'ERP' },
              mode: 'delete',
            },
          ],
        },
        stored: {
          meter: { 'M-91': { meter_number: 'M-91' } },
          meter_readings: {
            'meter/M-91': [
              { external_id: 'R-92', timestamp: '2025-04-02T00:00:00.000Z', source: 'ERP', value: 2 },
            ],
          },
        },
      },
    ],
  },
];
