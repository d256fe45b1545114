import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import type { FieldConfig, InboundConfiguration } from './types.js';

/** One contract entity with the relation field under test. */
function contractWith(field: FieldConfig, jsonataExpression?: string): InboundConfiguration {
  return {
    entities: [
      {
        entity_schema: 'contract',
        unique_ids: ['contract_number'],
        ...(jsonataExpression ? { jsonataExpression } : {}),
        fields: [{ attribute: 'contract_number', field: 'number' }, field],
      },
    ],
  };
}

const payload = {
  number: 'CTR-001',
  customerAccountId: 'ACC-999',
  customerNo: 'C-7',
  email: 'anna@example.com',
  partners: [
    { no: 'P1', role: 'owner' },
    { no: 'P2', role: 'payer' },
  ],
  address: { street: 'Main St 1', city: 'Berlin' },
};

describe('relations', () => {
  it.each([
    {
      name: 'reference example: _set with one item from a field, with _tags',
      field: {
        attribute: 'billing_account',
        relations: {
          operation: '_set',
          items: [
            {
              entity_schema: 'billing_account',
              _tags: ['PRIMARY'],
              unique_ids: [{ attribute: 'external_id', field: 'customerAccountId' }],
            },
          ],
        },
      },
      expected: {
        $relation: {
          _set: [
            {
              $entity_unique_ids: { external_id: 'ACC-999' },
              _schema: 'billing_account',
              _tags: ['PRIMARY'],
            },
          ],
        },
      },
    },
    {
      name: '_append, two items, constant + jsonataExpression + JSONPath unique ids, no tags',
      field: {
        attribute: 'customer',
        relations: {
          operation: '_append',
          items: [
            {
              entity_schema: 'contact',
              unique_ids: [
                { attribute: 'customer_number', jsonataExpression: '"K-" & customerNo' },
                { attribute: 'source', constant: 'ERP' },
              ],
            },
            { entity_schema: 'account', unique_ids: [{ attribute: 'city', field: '$.address.city' }] },
          ],
        },
      },
      expected: {
        $relation: {
          _append: [
            {
              $entity_unique_ids: { customer_number: 'K-C-7', source: 'ERP' },
              _schema: 'contact',
              _tags: [],
            },
            { $entity_unique_ids: { city: 'Berlin' }, _schema: 'account', _tags: [] },
          ],
        },
      },
    },
    {
      name: '_append_all with an email-typed unique id (wrapped as on the entity)',
      field: {
        attribute: 'contacts',
        relations: {
          operation: '_append_all',
          items: [
            {
              entity_schema: 'contact',
              unique_ids: [{ attribute: 'email', field: 'email', _type: 'email' }],
            },
          ],
        },
      },
      expected: {
        $relation: {
          _append_all: [
            {
              $entity_unique_ids: { email: [{ email: 'anna@example.com' }] },
              _schema: 'contact',
              _tags: [],
            },
          ],
        },
      },
    },
    {
      name: 'jsonataExpression yields the items array',
      field: {
        attribute: 'partners',
        relations: {
          operation: '_set',
          jsonataExpression:
            '[partners.{"entity_schema": "contact", "unique_ids": {"customer_number": no}, "_tags": [role]}]',
        },
      },
      expected: {
        $relation: {
          _set: [
            { $entity_unique_ids: { customer_number: 'P1' }, _schema: 'contact', _tags: ['owner'] },
            { $entity_unique_ids: { customer_number: 'P2' }, _schema: 'contact', _tags: ['payer'] },
          ],
        },
      },
    },
    {
      name: 'jsonataExpression may yield the output shape directly; a single object is one item',
      field: {
        attribute: 'owner',
        relations: {
          operation: '_set',
          jsonataExpression: '{"_schema": "contact", "$entity_unique_ids": {"customer_number": customerNo}}',
        },
      },
      expected: {
        $relation: {
          _set: [{ $entity_unique_ids: { customer_number: 'C-7' }, _schema: 'contact', _tags: [] }],
        },
      },
    },
    {
      name: 'jsonataExpression yielding [] clears with _set',
      field: { attribute: 'owner', relations: { operation: '_set', jsonataExpression: '[]' } },
      expected: { $relation: { _set: [] } },
    },
  ] as Array<{ name: string; field: FieldConfig; expected: unknown }>)(
    '$name',
    async ({ field, expected }) => {
      const result = await CompiledMapping.compile(contractWith(field)).map(payload);
      expect(result.failures).toEqual([]);
      expect(result.entity_updates).toEqual([
        {
          entity_slug: 'contract',
          unique_identifiers: { contract_number: 'CTR-001' },
          attributes: { contract_number: 'CTR-001', [field.attribute]: expected },
          mode: 'upsert',
        },
      ]);
    },
  );

  it('never wraps a relation value with _type', async () => {
    const field: FieldConfig = {
      attribute: 'owner',
      _type: 'email',
      relations: { operation: '_set', jsonataExpression: '{"_schema": "contact", "unique_ids": {"n": "1"}}' },
    };
    const result = await CompiledMapping.compile(contractWith(field)).map(payload);
    expect(result.entity_updates[0]?.attributes.owner).toEqual({
      $relation: { _set: [{ $entity_unique_ids: { n: '1' }, _schema: 'contact', _tags: [] }] },
    });
  });

  it('leaves the attribute out when the items expression yields undefined', async () => {
    const field: FieldConfig = {
      attribute: 'owner',
      relations: { operation: '_set', jsonataExpression: 'nope' },
    };
    const result = await CompiledMapping.compile(contractWith(field)).map(payload);
    expect(result.entity_updates[0]?.attributes).toEqual({ contract_number: 'CTR-001' });
  });

  it.each([
    {
      name: 'configured item with a missing unique id value',
      field: {
        attribute: 'billing_account',
        relations: {
          operation: '_set',
          items: [
            { entity_schema: 'billing_account', unique_ids: [{ attribute: 'external_id', field: 'absent' }] },
          ],
        },
      },
      code: 'RELATION_UNIQUE_ID_MISSING',
      message:
        'relation "billing_account" item 0 (billing_account): unique id "external_id" has no value in this event',
    },
    {
      name: 'configured item with an empty-string unique id value',
      field: {
        attribute: 'billing_account',
        relations: {
          operation: '_append',
          items: [
            { entity_schema: 'billing_account', unique_ids: [{ attribute: 'external_id', constant: '' }] },
          ],
        },
      },
      code: 'RELATION_UNIQUE_ID_MISSING',
      message:
        'relation "billing_account" item 0 (billing_account): unique id "external_id" has no value in this event',
    },
    {
      name: 'JSONata item with a null unique id value',
      field: {
        attribute: 'owner',
        relations: {
          operation: '_set',
          jsonataExpression: '[{"entity_schema": "contact", "unique_ids": {"customer_number": null}}]',
        },
      },
      code: 'RELATION_UNIQUE_ID_MISSING',
      message: 'relation "owner" item 0 (contact): unique id "customer_number" has no value in this event',
    },
    {
      name: 'JSONata item without a schema',
      field: {
        attribute: 'owner',
        relations: { operation: '_set', jsonataExpression: '[{"unique_ids": {"customer_number": "1"}}]' },
      },
      code: 'RELATION_ITEM_INVALID',
      message: 'relation "owner" item 0: needs _schema (or entity_schema)',
    },
    {
      name: 'a failing unique-id expression',
      field: {
        attribute: 'owner',
        relations: {
          operation: '_set',
          items: [
            { entity_schema: 'contact', unique_ids: [{ attribute: 'n', jsonataExpression: '$number("x")' }] },
          ],
        },
      },
      code: 'MAPPING_EXPRESSION_FAILED',
      message: undefined,
    },
  ] as Array<{ name: string; field: FieldConfig; code: string; message?: string }>)(
    'fails the update, never drops silently: $name',
    async ({ field, code, message }) => {
      const result = await CompiledMapping.compile(contractWith(field)).map(payload);
      expect(result.entity_updates).toEqual([]);
      expect(result.failures).toHaveLength(1);
      expect(result.failures[0]).toMatchObject({
        code,
        entity_schema: 'contract',
        entity_index: 0,
        section: 'entities',
        attribute: field.attribute,
      });
      if (message) expect(result.failures[0]?.message).toBe(message);
    },
  );

  it('reports the failing element index when the entity expands an array', async () => {
    const config = contractWith(
      {
        attribute: 'owner',
        relations: {
          operation: '_set',
          items: [
            { entity_schema: 'contact', unique_ids: [{ attribute: 'customer_number', field: 'owner' }] },
          ],
        },
      },
      'contracts',
    );
    const result = await CompiledMapping.compile(config).map({
      contracts: [{ number: 'A', owner: 'O1' }, { number: 'B' }],
    });
    expect(result.entity_updates.map((u) => u.attributes)).toEqual([
      {
        contract_number: 'A',
        owner: {
          $relation: {
            _set: [{ $entity_unique_ids: { customer_number: 'O1' }, _schema: 'contact', _tags: [] }],
          },
        },
      },
    ]);
    expect(result.failures.map((f) => [f.code, f.element_index])).toEqual([
      ['RELATION_UNIQUE_ID_MISSING', 1],
    ]);
  });
});

describe('relation_refs', () => {
  it.each([
    {
      name: 'configured item: target schema, unique ids, path, value from JSONata, value operation',
      field: {
        attribute: 'delivery_address',
        relation_refs: {
          operation: '_set',
          items: [
            {
              entity_schema: 'contact',
              unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
              path: 'address',
              value: {
                attribute: 'address',
                operation: '_append',
                jsonataExpression: '{"street": address.street, "city": address.city}',
              },
            },
          ],
        },
      },
      expected: {
        $relation_ref: {
          _set: [
            {
              $entity_unique_ids: { customer_number: 'C-7' },
              _schema: 'contact',
              path: 'address',
              value: { street: 'Main St 1', city: 'Berlin' },
              value_attribute: 'address',
              value_operation: '_append',
            },
          ],
        },
      },
    },
    {
      name: 'configured item with a field value and no value operation',
      field: {
        attribute: 'billing_address',
        relation_refs: {
          operation: '_append',
          items: [
            {
              entity_schema: 'contact',
              unique_ids: [{ attribute: 'customer_number', constant: 'C-1' }],
              path: 'address',
              value: { attribute: 'address', field: 'address' },
            },
          ],
        },
      },
      expected: {
        $relation_ref: {
          _append: [
            {
              $entity_unique_ids: { customer_number: 'C-1' },
              _schema: 'contact',
              path: 'address',
              value: { street: 'Main St 1', city: 'Berlin' },
              value_attribute: 'address',
            },
          ],
        },
      },
    },
    {
      name: 'jsonataExpression yields the items (value_attribute defaults to path)',
      field: {
        attribute: 'billing_address',
        relation_refs: {
          operation: '_append_all',
          jsonataExpression:
            '[{"entity_schema": "contact", "unique_ids": {"customer_number": customerNo}, "path": "address", "value": address}]',
        },
      },
      expected: {
        $relation_ref: {
          _append_all: [
            {
              $entity_unique_ids: { customer_number: 'C-7' },
              _schema: 'contact',
              path: 'address',
              value: { street: 'Main St 1', city: 'Berlin' },
              value_attribute: 'address',
            },
          ],
        },
      },
    },
  ] as Array<{ name: string; field: FieldConfig; expected: unknown }>)(
    '$name',
    async ({ field, expected }) => {
      const result = await CompiledMapping.compile(contractWith(field)).map(payload);
      expect(result.failures).toEqual([]);
      expect(result.entity_updates[0]?.attributes).toEqual({
        contract_number: 'CTR-001',
        [field.attribute]: expected,
      });
    },
  );

  it.each([
    {
      name: 'missing target unique id',
      items: [
        {
          entity_schema: 'contact',
          unique_ids: [{ attribute: 'customer_number', field: 'nope' }],
          path: 'address',
          value: { attribute: 'address', field: 'address' },
        },
      ],
      code: 'RELATION_UNIQUE_ID_MISSING',
    },
    {
      name: 'missing value',
      items: [
        {
          entity_schema: 'contact',
          unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
          path: 'address',
          value: { attribute: 'address', field: 'nope' },
        },
      ],
      code: 'RELATION_ITEM_INVALID',
    },
  ])('fails the update: $name', async ({ items, code }) => {
    const field = { attribute: 'addr', relation_refs: { operation: '_set', items } } as FieldConfig;
    const result = await CompiledMapping.compile(contractWith(field)).map(payload);
    expect(result.entity_updates).toEqual([]);
    expect(result.failures.map((f) => [f.code, f.attribute])).toEqual([[code, 'addr']]);
  });
});
