import { describe, expect, it } from 'vitest';
import type { InboundConfiguration } from './types.js';
import { validateInboundConfiguration } from './validate.js';

const readingFields = [
  { attribute: 'external_id', field: 'id' },
  { attribute: 'timestamp', field: 'at' },
  { attribute: 'source', constant: 'ERP' },
  { attribute: 'value', field: 'v' },
];

const valid: InboundConfiguration = {
  entities: [
    {
      entity_schema: 'contract',
      unique_ids: ['contract_number'],
      mode: 'upsert-prune-scope-delete',
      scope: {
        scope_mode: 'relations',
        schema: 'billing_account',
        unique_ids: [{ attribute: 'external_id', field: 'account' }],
      },
      fields: [
        { attribute: 'contract_number', field: 'number' },
        {
          attribute: 'billing_account',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'billing_account',
                unique_ids: [{ attribute: 'external_id', field: 'account' }],
              },
            ],
          },
        },
        { attribute: 'owners', relations: { operation: '_append', jsonataExpression: '[]' } },
        {
          attribute: 'delivery_address',
          relation_refs: {
            operation: '_set',
            items: [
              {
                entity_schema: 'contact',
                unique_ids: [{ attribute: 'customer_number', field: 'customer' }],
                path: 'address',
                value: { attribute: 'address', jsonataExpression: 'address' },
              },
            ],
          },
        },
      ],
    },
  ],
  meter_readings: [
    {
      jsonataExpression: 'readings',
      mode: 'upsert-prune-scope',
      scope: { source: 'ERP' },
      reading_matching: 'strict-date',
      meter: { unique_ids: ['meter_id'] },
      meter_counter: { unique_ids: [{ attribute: 'obis', field: 'obis' }] },
      fields: [...readingFields, { attribute: 'reason', constant: 'regular' }],
    },
  ],
};

describe('validateInboundConfiguration (relations, scopes, meter readings)', () => {
  it('accepts a configuration using every feature', () => {
    expect(validateInboundConfiguration(valid)).toEqual([]);
  });

  it.each([
    {
      name: 'relation unique id with a bad expression and one without source',
      config: {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            fields: [
              { attribute: 'id', field: 'id' },
              {
                attribute: 'r',
                relations: {
                  operation: '_set',
                  items: [
                    {
                      entity_schema: 'x',
                      unique_ids: [{ attribute: 'a', jsonataExpression: 'a +' }, { attribute: 'b' }],
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
      paths: [
        'configuration.entities[0].fields[1].relations.items[0].unique_ids[0].jsonataExpression',
        'configuration.entities[0].fields[1].relations.items[0].unique_ids[1]',
      ],
    },
    {
      name: 'relations without items or expression; relation_refs with both and a bad expression',
      config: {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            fields: [
              { attribute: 'id', field: 'id' },
              { attribute: 'r', relations: { operation: '_append' } },
              {
                attribute: 's',
                relation_refs: { operation: '_set', items: [], jsonataExpression: '{' },
              },
            ],
          },
        ],
      },
      paths: [
        'configuration.entities[0].fields[1].relations',
        'configuration.entities[0].fields[2].relation_refs',
        'configuration.entities[0].fields[2].relation_refs.jsonataExpression',
      ],
    },
    {
      name: 'relation_ref value without source and a bad JSONPath',
      config: {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            fields: [
              { attribute: 'id', field: 'id' },
              {
                attribute: 's',
                relation_refs: {
                  operation: '_set',
                  items: [
                    {
                      entity_schema: 'contact',
                      unique_ids: [{ attribute: 'n', field: '$.a[' }],
                      path: 'address',
                      value: { attribute: 'address' },
                    },
                  ],
                },
              },
            ],
          },
        ],
      },
      paths: [
        'configuration.entities[0].fields[1].relation_refs.items[0].unique_ids[0].field',
        'configuration.entities[0].fields[1].relation_refs.items[0].value',
      ],
    },
    {
      name: 'prune mode without scope',
      config: {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            mode: 'upsert-prune-scope-purge',
            fields: [{ attribute: 'id', field: 'id' }],
          },
        ],
      },
      paths: ['configuration.entities[0].scope'],
    },
    {
      name: 'relations scope without schema/unique_ids; query scope without query',
      config: {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            mode: 'upsert-prune-scope-delete',
            scope: { scope_mode: 'relations' },
            fields: [{ attribute: 'id', field: 'id' }],
          },
          {
            entity_schema: 'd',
            unique_ids: ['id'],
            mode: 'upsert-prune-scope-delete',
            scope: { scope_mode: 'query', query: [] },
            fields: [{ attribute: 'id', field: 'id' }],
          },
        ],
      },
      paths: [
        'configuration.entities[0].scope.schema',
        'configuration.entities[0].scope.unique_ids',
        'configuration.entities[1].scope.query',
      ],
    },
    {
      name: 'meter reading missing required fields, bad expressions (a constant source outside the documented values is no problem: issue 20)',
      config: {
        meter_readings: [
          {
            jsonataExpression: 'readings[',
            meter: { unique_ids: [{ attribute: 'external_id', jsonataExpression: '$$$(' }] },
            fields: [
              { attribute: 'external_id', field: 'id' },
              { attribute: 'source', constant: 'SAP' },
            ],
          },
        ],
      },
      paths: [
        'configuration.meter_readings[0].jsonataExpression',
        'configuration.meter_readings[0].meter.unique_ids[0].jsonataExpression',
        'configuration.meter_readings[0].fields',
      ],
    },
    {
      name: 'meter reading field expression and enabled syntax',
      config: {
        meter_readings: [
          {
            meter: { unique_ids: ['m'] },
            fields: [...readingFields, { attribute: 'reason', jsonataExpression: '(', enabled: ')' }],
          },
        ],
      },
      paths: [
        'configuration.meter_readings[0].fields[4].jsonataExpression',
        'configuration.meter_readings[0].fields[4].enabled',
      ],
    },
  ])('$name', ({ config, paths }) => {
    expect(validateInboundConfiguration(config).map((p) => p.path)).toEqual(paths);
  });

  it('says which required meter-reading fields are missing', () => {
    const problems = validateInboundConfiguration({
      meter_readings: [{ meter: { unique_ids: ['m'] }, fields: [{ attribute: 'external_id', field: 'id' }] }],
    });
    expect(problems).toEqual([
      {
        path: 'configuration.meter_readings[0].fields',
        message:
          'must map "timestamp", "source", "value" (every reading needs external_id, timestamp, source, value)',
      },
    ]);
  });

  it.each([
    [{ meter_readings: [{ fields: readingFields }] }, 'configuration.meter_readings[0].meter'],
    [
      { meter_readings: [{ meter: { unique_ids: [] }, fields: readingFields }] },
      'configuration.meter_readings[0].meter.unique_ids',
    ],
    [
      { meter_readings: [{ meter: { unique_ids: ['m'] }, mode: 'upsert-prune', fields: readingFields }] },
      'configuration.meter_readings[0].mode',
    ],
    [
      {
        entities: [
          {
            entity_schema: 'c',
            unique_ids: ['id'],
            fields: [{ attribute: 'id', relations: { operation: '_merge' } }],
          },
        ],
      },
      'configuration.entities[0].fields[0].relations.operation',
    ],
  ])('reports shape errors with their path (%#)', (config, path) => {
    const problems = validateInboundConfiguration(config);
    expect(problems.map((p) => p.path)).toContain(path);
  });

  it('names the allowed values of an enum', () => {
    expect(
      validateInboundConfiguration({
        meter_readings: [{ meter: { unique_ids: ['m'] }, mode: 'replace', fields: readingFields }],
      }),
    ).toEqual([
      {
        path: 'configuration.meter_readings[0].mode',
        message: 'must be one of upsert, delete, upsert-prune-scope',
      },
    ]);
  });
});

describe('attribute names that could reach a database filter (issue 10)', () => {
  const problemsOf = (entity: Record<string, unknown>) =>
    validateInboundConfiguration({ entities: [entity] } as unknown as InboundConfiguration);

  it('refuses reserved, operator and dotted names with the path of each', () => {
    const problems = problemsOf({
      entity_schema: 'contact',
      unique_ids: ['_org', 'customer_number'],
      mode: 'purge',
      fields: [
        { attribute: '_org', constant: 'victim' },
        { attribute: 'customer_number', field: 'no' },
        { attribute: '$where', constant: 'x' },
        { attribute: 'a.b', constant: 'x' },
        { attribute: '_hub', constant: {} },
        {
          attribute: 'owner',
          relations: {
            operation: '_set',
            items: [{ entity_schema: 'contact', unique_ids: [{ attribute: '$ne', field: 'x' }] }],
          },
        },
      ],
      scope: { scope_mode: 'query', query: [{ attribute: '_id', field: 'x' }] },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: 'configuration.entities[0].unique_ids[0]',
          message: '"_org" is reserved for the entity store',
        },
        {
          path: 'configuration.entities[0].fields[0].attribute',
          message: '"_org" is reserved for the entity store',
        },
        {
          path: 'configuration.entities[0].fields[2].attribute',
          message: '"$where" must not start with "$" (a database operator)',
        },
        {
          path: 'configuration.entities[0].fields[3].attribute',
          message: '"a.b" must not contain "." (a nested path)',
        },
        {
          path: 'configuration.entities[0].fields[4].attribute',
          message: '"_hub" is reserved for the entity store',
        },
        {
          path: 'configuration.entities[0].fields[5].relations.items[0].unique_ids[0].attribute',
          message: '"$ne" must not start with "$" (a database operator)',
        },
        {
          path: 'configuration.entities[0].scope.query[0].attribute',
          message: '"_id" is reserved for the entity store',
        },
      ]),
    );
  });

  it('allows `_id` as the one unique id (a direct read), not beside others', () => {
    expect(
      problemsOf({
        entity_schema: 'contact',
        unique_ids: ['_id'],
        fields: [{ attribute: '_id', field: 'id' }],
      }),
    ).toEqual([]);
    expect(
      problemsOf({
        entity_schema: 'contact',
        unique_ids: ['_id', 'no'],
        fields: [
          { attribute: '_id', field: 'id' },
          { attribute: 'no', field: 'no' },
        ],
      }),
    ).toEqual([
      { path: 'configuration.entities[0].unique_ids[0]', message: '"_id" is reserved for the entity store' },
    ]);
  });
});
