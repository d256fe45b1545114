/** Golden cases: relations, relation_refs and entity prune scopes. */
import { contactFields, meterRef, meterRelation } from './shared.js';
import type { GoldenCase } from './types.js';

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

export const RELATION_CASES: GoldenCase[] = [
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
    name: 'prune scope by query: meters of the site not sent are purged, other sites untouched, [] purges all',
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
      {
        payload: { site: 'S-2', meters: [] },
        simulation: {
          prune_scope_updates: [
            {
              entity_slug: 'meter',
              scope: { scope_mode: 'query', query: { site_id: 'S-2' } },
              keep_unique_ids: [],
              deletion_mode: 'purge',
            },
          ],
        },
        stored: { meter: { 'M-61': { meter_number: 'M-61', site_id: 'S-1' } } },
      },
    ],
  },
];
