/**
 * The golden cases: for each feature a configuration and the events of its steps, the simulation the
 * engine must produce and the entities (and meter readings) the pipeline must store. Stored state is
 * projected by golden-harness.ts: `<schema>/<label>` instead of entity ids, relation_refs dereferenced.
 */
import type { MappingSimulationResponse } from '@hub/mapping';
import type { Ids, StoredState } from './golden-harness.js';

export interface GoldenStep {
  /** The event payload; a function when it names an entity by `_id`. */
  payload: Record<string, unknown> | ((ids: Ids) => Record<string, unknown>);
  /** Exactly what `simulate` returns for the payload (empty lists may be left out). */
  simulation: Partial<MappingSimulationResponse> | ((ids: Ids) => Partial<MappingSimulationResponse>);
  /** Every entity of the labelled schemas after the step (and `meter_readings` when given). */
  stored: StoredState;
}

export interface GoldenCase {
  name: string;
  configuration: Record<string, unknown>;
  steps: GoldenStep[];
}

const contactFields = [
  { attribute: 'customer_number', field: 'customerNo' },
  { attribute: 'first_name', field: 'firstName' },
];

const customerConfiguration = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        ...contactFields,
        { attribute: 'email', field: 'email', _type: 'email' },
        {
          attribute: 'account',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'account',
                unique_ids: [{ attribute: 'account_number', field: '$.company.no' }],
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'account',
      unique_ids: ['account_number'],
      fields: [
        { attribute: 'account_number', field: '$.company.no' },
        { attribute: 'name', jsonataExpression: '$trim(company.name)' },
        {
          attribute: 'contacts',
          relations: {
            operation: '_append',
            items: [
              {
                entity_schema: 'contact',
                _tags: ['primary'],
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
              },
            ],
          },
        },
      ],
    },
    {
      entity_schema: 'billing_account',
      unique_ids: ['external_id'],
      fields: [
        { attribute: 'external_id', field: '$.billing.accountNo' },
        { attribute: 'payment_method', jsonataExpression: 'billing.iban ? "sepa" : "invoice"' },
        {
          attribute: 'contact',
          relations: {
            operation: '_set',
            items: [
              {
                entity_schema: 'contact',
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
              },
            ],
          },
        },
        {
          attribute: 'billing_address',
          relation_refs: {
            operation: '_set',
            items: [
              {
                entity_schema: 'contact',
                unique_ids: [{ attribute: 'customer_number', field: 'customerNo' }],
                path: 'address',
                value: {
                  attribute: 'address',
                  jsonataExpression: '{"street": billing.street, "city": billing.city}',
                },
              },
            ],
          },
        },
      ],
    },
  ],
};

const meterRelation = {
  attribute: 'meters',
  relations: {
    operation: '_set',
    jsonataExpression: '[meters.{"entity_schema": "meter", "unique_ids": {"meter_number": id}}]',
  },
};

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

const meterRef = (id: string) => ({ entity: `meter/${id}`, _schema: 'meter', _tags: [] });

export const CASES: GoldenCase[] = [
  {
    name: 'plain fields, typed email/phone, constants, null kept, missing left out',
    configuration: {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            ...contactFields,
            { attribute: 'email', field: 'email', _type: 'email' },
            { attribute: 'phone', field: 'phone', _type: 'phone', _tags: ['mobile'] },
            { attribute: 'city', field: '$.address.city' },
            { attribute: 'middle_name', field: 'middleName' },
            { attribute: 'nickname', jsonataExpression: 'nickname' },
            { attribute: 'source', constant: 'ERP' },
          ],
        },
      ],
    },
    steps: [
      {
        payload: {
          customerNo: 'C-1',
          firstName: 'Ada',
          email: 'ada@example.com',
          phone: '+49 30 1234',
          address: { city: 'Berlin' },
          middleName: null,
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-1' },
              attributes: {
                customer_number: 'C-1',
                first_name: 'Ada',
                email: [{ email: 'ada@example.com' }],
                phone: [{ phone: '+49 30 1234', _tags: ['mobile'] }],
                city: 'Berlin',
                middle_name: null,
                source: 'ERP',
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'C-1': {
              customer_number: 'C-1',
              first_name: 'Ada',
              email: [{ email: 'ada@example.com' }],
              phone: [{ phone: '+49 30 1234', _tags: ['mobile'] }],
              city: 'Berlin',
              middle_name: null,
              source: 'ERP',
            },
          },
        },
      },
    ],
  },
  {
    name: 'array operations against the stored entity',
    configuration: {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [
            { attribute: 'customer_number', field: 'customerNo' },
            { attribute: 'tags', jsonataExpression: '{op: [tags]}' },
          ],
        },
      ],
    },
    steps: [
      {
        payload: { customerNo: 'C-2', op: '_append', tags: ['a', 'b'] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-2' },
              attributes: { customer_number: 'C-2', tags: { _append: ['a', 'b'] } },
              mode: 'upsert',
            },
          ],
        },
        stored: { contact: { 'C-2': { customer_number: 'C-2', tags: ['a', 'b'] } } },
      },
      {
        payload: { customerNo: 'C-2', op: '_append', tags: ['b', 'c'] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-2' },
              attributes: { customer_number: 'C-2', tags: { _append: ['b', 'c'] } },
              mode: 'upsert',
            },
          ],
        },
        stored: { contact: { 'C-2': { customer_number: 'C-2', tags: ['a', 'b', 'c'] } } },
      },
      {
        payload: { customerNo: 'C-2', op: '_append_all', tags: ['c'] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-2' },
              attributes: { customer_number: 'C-2', tags: { _append_all: ['c'] } },
              mode: 'upsert',
            },
          ],
        },
        stored: { contact: { 'C-2': { customer_number: 'C-2', tags: ['a', 'b', 'c', 'c'] } } },
      },
      {
        payload: { customerNo: 'C-2', op: '_set', tags: ['z'] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-2' },
              attributes: { customer_number: 'C-2', tags: { _set: ['z'] } },
              mode: 'upsert',
            },
          ],
        },
        stored: { contact: { 'C-2': { customer_number: 'C-2', tags: ['z'] } } },
      },
    ],
  },
  {
    name: 'customer -> contact + account + billing account with relations and a relation_ref',
    configuration: customerConfiguration,
    steps: [
      {
        payload: {
          customerNo: 'C-10',
          firstName: 'Ada',
          email: 'ada@example.com',
          company: { no: 'A-1', name: ' Lovelace Ltd ' },
          billing: { accountNo: 'BA-1', iban: 'DE02100100109307118603', street: 'Main St 1', city: 'Berlin' },
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-10' },
              attributes: {
                customer_number: 'C-10',
                first_name: 'Ada',
                email: [{ email: 'ada@example.com' }],
                account: {
                  $relation: {
                    _set: [{ $entity_unique_ids: { account_number: 'A-1' }, _schema: 'account', _tags: [] }],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'account',
              unique_identifiers: { account_number: 'A-1' },
              attributes: {
                account_number: 'A-1',
                name: 'Lovelace Ltd',
                contacts: {
                  $relation: {
                    _append: [
                      {
                        $entity_unique_ids: { customer_number: 'C-10' },
                        _schema: 'contact',
                        _tags: ['primary'],
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'billing_account',
              unique_identifiers: { external_id: 'BA-1' },
              attributes: {
                external_id: 'BA-1',
                payment_method: 'sepa',
                contact: {
                  $relation: {
                    _set: [
                      { $entity_unique_ids: { customer_number: 'C-10' }, _schema: 'contact', _tags: [] },
                    ],
                  },
                },
                billing_address: {
                  $relation_ref: {
                    _set: [
                      {
                        $entity_unique_ids: { customer_number: 'C-10' },
                        _schema: 'contact',
                        path: 'address',
                        value: { street: 'Main St 1', city: 'Berlin' },
                        value_attribute: 'address',
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'C-10': {
              customer_number: 'C-10',
              first_name: 'Ada',
              email: [{ email: 'ada@example.com' }],
              account: { $relation: [{ entity: 'account/A-1', _schema: 'account', _tags: [] }] },
              address: [{ street: 'Main St 1', city: 'Berlin' }],
            },
          },
          account: {
            'A-1': {
              account_number: 'A-1',
              name: 'Lovelace Ltd',
              contacts: { $relation: [{ entity: 'contact/C-10', _schema: 'contact', _tags: ['primary'] }] },
            },
          },
          billing_account: {
            'BA-1': {
              external_id: 'BA-1',
              payment_method: 'sepa',
              contact: { $relation: [{ entity: 'contact/C-10', _schema: 'contact', _tags: [] }] },
              billing_address: {
                $relation_ref: [
                  { entity: 'contact/C-10', path: 'address', item: { street: 'Main St 1', city: 'Berlin' } },
                ],
              },
            },
          },
        },
      },
      {
        payload: {
          customerNo: 'C-11',
          firstName: 'Charles',
          email: 'charles@example.com',
          company: { no: 'A-1', name: 'Lovelace Ltd' },
          billing: { accountNo: 'BA-2', street: 'Side St 2', city: 'Bonn' },
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-11' },
              attributes: {
                customer_number: 'C-11',
                first_name: 'Charles',
                email: [{ email: 'charles@example.com' }],
                account: {
                  $relation: {
                    _set: [{ $entity_unique_ids: { account_number: 'A-1' }, _schema: 'account', _tags: [] }],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'account',
              unique_identifiers: { account_number: 'A-1' },
              attributes: {
                account_number: 'A-1',
                name: 'Lovelace Ltd',
                contacts: {
                  $relation: {
                    _append: [
                      {
                        $entity_unique_ids: { customer_number: 'C-11' },
                        _schema: 'contact',
                        _tags: ['primary'],
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'billing_account',
              unique_identifiers: { external_id: 'BA-2' },
              attributes: {
                external_id: 'BA-2',
                payment_method: 'invoice',
                contact: {
                  $relation: {
                    _set: [
                      { $entity_unique_ids: { customer_number: 'C-11' }, _schema: 'contact', _tags: [] },
                    ],
                  },
                },
                billing_address: {
                  $relation_ref: {
                    _set: [
                      {
                        $entity_unique_ids: { customer_number: 'C-11' },
                        _schema: 'contact',
                        path: 'address',
                        value: { street: 'Side St 2', city: 'Bonn' },
                        value_attribute: 'address',
                      },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'C-10': {
              customer_number: 'C-10',
              first_name: 'Ada',
              email: [{ email: 'ada@example.com' }],
              account: { $relation: [{ entity: 'account/A-1', _schema: 'account', _tags: [] }] },
              address: [{ street: 'Main St 1', city: 'Berlin' }],
            },
            'C-11': {
              customer_number: 'C-11',
              first_name: 'Charles',
              email: [{ email: 'charles@example.com' }],
              account: { $relation: [{ entity: 'account/A-1', _schema: 'account', _tags: [] }] },
              address: [{ street: 'Side St 2', city: 'Bonn' }],
            },
          },
          account: {
            'A-1': {
              account_number: 'A-1',
              name: 'Lovelace Ltd',
              contacts: {
                $relation: [
                  { entity: 'contact/C-10', _schema: 'contact', _tags: ['primary'] },
                  { entity: 'contact/C-11', _schema: 'contact', _tags: ['primary'] },
                ],
              },
            },
          },
          billing_account: {
            'BA-1': {
              external_id: 'BA-1',
              payment_method: 'sepa',
              contact: { $relation: [{ entity: 'contact/C-10', _schema: 'contact', _tags: [] }] },
              billing_address: {
                $relation_ref: [
                  { entity: 'contact/C-10', path: 'address', item: { street: 'Main St 1', city: 'Berlin' } },
                ],
              },
            },
            'BA-2': {
              external_id: 'BA-2',
              payment_method: 'invoice',
              contact: { $relation: [{ entity: 'contact/C-11', _schema: 'contact', _tags: [] }] },
              billing_address: {
                $relation_ref: [
                  { entity: 'contact/C-11', path: 'address', item: { street: 'Side St 2', city: 'Bonn' } },
                ],
              },
            },
          },
        },
      },
    ],
  },
  {
    name: 'relation targets that do not exist are created from their unique ids',
    configuration: {
      entities: [
        {
          entity_schema: 'contract',
          unique_ids: ['contract_number'],
          fields: [{ attribute: 'contract_number', field: 'contractNo' }, meterRelation],
        },
      ],
    },
    steps: [
      {
        payload: { contractNo: 'K-1', meters: [{ id: 'M-1' }, { id: 'M-2' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contract',
              unique_identifiers: { contract_number: 'K-1' },
              attributes: {
                contract_number: 'K-1',
                meters: {
                  $relation: {
                    _set: [
                      { $entity_unique_ids: { meter_number: 'M-1' }, _schema: 'meter', _tags: [] },
                      { $entity_unique_ids: { meter_number: 'M-2' }, _schema: 'meter', _tags: [] },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contract: {
            'K-1': { contract_number: 'K-1', meters: { $relation: [meterRef('M-1'), meterRef('M-2')] } },
          },
          meter: { 'M-1': { meter_number: 'M-1' }, 'M-2': { meter_number: 'M-2' } },
        },
      },
    ],
  },
  {
    name: 'unique_ids ["_id"] reads the entity directly and updates it',
    configuration: {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          enabled: '$exists(customerNo)',
          fields: contactFields,
        },
        {
          entity_schema: 'contact',
          unique_ids: ['_id'],
          enabled: '$exists(id)',
          fields: [
            { attribute: '_id', field: 'id' },
            { attribute: 'first_name', field: 'firstName' },
          ],
        },
      ],
    },
    steps: [
      {
        payload: { customerNo: 'C-20', firstName: 'Old' },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'C-20' },
              attributes: { customer_number: 'C-20', first_name: 'Old' },
              mode: 'upsert',
            },
          ],
        },
        stored: { contact: { 'C-20': { customer_number: 'C-20', first_name: 'Old' } } },
      },
      {
        payload: (ids) => ({ id: ids['contact/C-20'], firstName: 'New' }),
        simulation: (ids) => ({
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { _id: ids['contact/C-20'] },
              attributes: { _id: ids['contact/C-20'], first_name: 'New' },
              mode: 'upsert',
            },
          ],
        }),
        stored: { contact: { 'C-20': { customer_number: 'C-20', first_name: 'New' } } },
      },
    ],
  },
  {
    name: 'delete hides an entity (restored by a later upsert), purge removes it',
    configuration: {
      entities: ['upsert', 'delete', 'purge'].map((mode) => ({
        entity_schema: 'contact',
        unique_ids: ['customer_number'],
        jsonataExpression: `[${mode}]`,
        mode,
        fields:
          mode === 'upsert'
            ? [
                { attribute: 'customer_number', field: 'no' },
                { attribute: 'first_name', field: 'name' },
              ]
            : [{ attribute: 'customer_number', field: 'no' }],
      })),
    },
    steps: [
      {
        payload: {
          upsert: [
            { no: 'D-1', name: 'Dee' },
            { no: 'D-2', name: 'Dan' },
            { no: 'D-3', name: 'Dot' },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-1' },
              attributes: { customer_number: 'D-1', first_name: 'Dee' },
              mode: 'upsert',
            },
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-2' },
              attributes: { customer_number: 'D-2', first_name: 'Dan' },
              mode: 'upsert',
            },
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-3' },
              attributes: { customer_number: 'D-3', first_name: 'Dot' },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'D-1': { customer_number: 'D-1', first_name: 'Dee' },
            'D-2': { customer_number: 'D-2', first_name: 'Dan' },
            'D-3': { customer_number: 'D-3', first_name: 'Dot' },
          },
        },
      },
      {
        payload: { delete: [{ no: 'D-1' }], purge: [{ no: 'D-2' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-1' },
              attributes: { customer_number: 'D-1' },
              mode: 'delete',
            },
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-2' },
              attributes: { customer_number: 'D-2' },
              mode: 'purge',
            },
          ],
        },
        stored: { contact: { 'D-3': { customer_number: 'D-3', first_name: 'Dot' } } },
      },
      {
        payload: { upsert: [{ no: 'D-1', name: 'Dee again' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'D-1' },
              attributes: { customer_number: 'D-1', first_name: 'Dee again' },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'D-1': { customer_number: 'D-1', first_name: 'Dee again' },
            'D-3': { customer_number: 'D-3', first_name: 'Dot' },
          },
        },
      },
    ],
  },
  {
    name: 'prune scope by relations: meters dropped from the contract are soft-deleted',
    configuration: {
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
          mode: 'upsert-prune-scope-delete',
          scope: {
            scope_mode: 'relations',
            schema: 'contract',
            unique_ids: [{ attribute: 'contract_number', field: 'contractNo' }],
          },
          fields: [
            { attribute: 'meter_number', field: 'id' },
            { attribute: 'medium', field: 'medium' },
          ],
        },
      ],
    },
    steps: [
      {
        payload: {
          contractNo: 'K-5',
          meters: [
            { id: 'M-51', medium: 'power' },
            { id: 'M-52', medium: 'gas' },
            { id: 'M-53', medium: 'water' },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contract',
              unique_identifiers: { contract_number: 'K-5' },
              attributes: {
                contract_number: 'K-5',
                meters: {
                  $relation: {
                    _set: [
                      { $entity_unique_ids: { meter_number: 'M-51' }, _schema: 'meter', _tags: [] },
                      { $entity_unique_ids: { meter_number: 'M-52' }, _schema: 'meter', _tags: [] },
                      { $entity_unique_ids: { meter_number: 'M-53' }, _schema: 'meter', _tags: [] },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-51' },
              attributes: { meter_number: 'M-51', medium: 'power' },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-52' },
              attributes: { meter_number: 'M-52', medium: 'gas' },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-53' },
              attributes: { meter_number: 'M-53', medium: 'water' },
              mode: 'upsert',
            },
          ],
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'relations', schema: 'contract', unique_ids: { contract_number: 'K-5' } },
              keep_unique_ids: [{ meter_number: 'M-51' }, { meter_number: 'M-52' }, { meter_number: 'M-53' }],
              deletion_mode: 'delete',
            },
          ],
        },
        stored: {
          contract: {
            'K-5': {
              contract_number: 'K-5',
              meters: { $relation: [meterRef('M-51'), meterRef('M-52'), meterRef('M-53')] },
            },
          },
          meter: {
            'M-51': { meter_number: 'M-51', medium: 'power' },
            'M-52': { meter_number: 'M-52', medium: 'gas' },
            'M-53': { meter_number: 'M-53', medium: 'water' },
          },
        },
      },
      {
        payload: {
          contractNo: 'K-5',
          meters: [
            { id: 'M-51', medium: 'power' },
            { id: 'M-52', medium: 'heat' },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contract',
              unique_identifiers: { contract_number: 'K-5' },
              attributes: {
                contract_number: 'K-5',
                meters: {
                  $relation: {
                    _set: [
                      { $entity_unique_ids: { meter_number: 'M-51' }, _schema: 'meter', _tags: [] },
                      { $entity_unique_ids: { meter_number: 'M-52' }, _schema: 'meter', _tags: [] },
                    ],
                  },
                },
              },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-51' },
              attributes: { meter_number: 'M-51', medium: 'power' },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-52' },
              attributes: { meter_number: 'M-52', medium: 'heat' },
              mode: 'upsert',
            },
          ],
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'relations', schema: 'contract', unique_ids: { contract_number: 'K-5' } },
              keep_unique_ids: [{ meter_number: 'M-51' }, { meter_number: 'M-52' }],
              deletion_mode: 'delete',
            },
          ],
        },
        stored: {
          contract: {
            'K-5': { contract_number: 'K-5', meters: { $relation: [meterRef('M-51'), meterRef('M-52')] } },
          },
          meter: {
            'M-51': { meter_number: 'M-51', medium: 'power' },
            'M-52': { meter_number: 'M-52', medium: 'heat' },
          },
        },
      },
    ],
  },
  {
    name: 'prune scope by query: meters of the site not sent are purged, other sites untouched',
    configuration: {
      entities: [
        {
          entity_schema: 'meter',
          unique_ids: ['meter_number'],
          jsonataExpression: 'meters',
          mode: 'upsert-prune-scope-purge',
          scope: { scope_mode: 'query', query: [{ attribute: 'site_id', field: 'site' }] },
          fields: [
            { attribute: 'meter_number', field: 'id' },
            { attribute: 'site_id', field: '$$.site' },
          ],
        },
      ],
    },
    steps: [
      {
        payload: { site: 'S-1', meters: [{ id: 'M-61' }, { id: 'M-62' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-61' },
              attributes: { meter_number: 'M-61', site_id: 'S-1' },
              mode: 'upsert',
            },
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-62' },
              attributes: { meter_number: 'M-62', site_id: 'S-1' },
              mode: 'upsert',
            },
          ],
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'query', query: { site_id: 'S-1' } },
              keep_unique_ids: [{ meter_number: 'M-61' }, { meter_number: 'M-62' }],
              deletion_mode: 'purge',
            },
          ],
        },
        stored: {
          meter: {
            'M-61': { meter_number: 'M-61', site_id: 'S-1' },
            'M-62': { meter_number: 'M-62', site_id: 'S-1' },
          },
        },
      },
      {
        payload: { site: 'S-2', meters: [{ id: 'M-69' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-69' },
              attributes: { meter_number: 'M-69', site_id: 'S-2' },
              mode: 'upsert',
            },
          ],
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'query', query: { site_id: 'S-2' } },
              keep_unique_ids: [{ meter_number: 'M-69' }],
              deletion_mode: 'purge',
            },
          ],
        },
        stored: {
          meter: {
            'M-61': { meter_number: 'M-61', site_id: 'S-1' },
            'M-62': { meter_number: 'M-62', site_id: 'S-1' },
            'M-69': { meter_number: 'M-69', site_id: 'S-2' },
          },
        },
      },
      {
        payload: { site: 'S-1', meters: [{ id: 'M-61' }] },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'meter',
              unique_identifiers: { meter_number: 'M-61' },
              attributes: { meter_number: 'M-61', site_id: 'S-1' },
              mode: 'upsert',
            },
          ],
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'query', query: { site_id: 'S-1' } },
              keep_unique_ids: [{ meter_number: 'M-61' }],
              deletion_mode: 'purge',
            },
          ],
        },
        stored: {
          meter: {
            'M-61': { meter_number: 'M-61', site_id: 'S-1' },
            'M-69': { meter_number: 'M-69', site_id: 'S-2' },
          },
        },
      },
    ],
  },
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
];
