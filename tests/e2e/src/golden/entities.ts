/** Golden cases: fields, array operations, direct `_id` reads, delete and purge. */
import { contactFields } from './shared.js';
import type { GoldenCase } from './types.js';

export const ENTITY_CASES: GoldenCase[] = [
  {
    name: 'entity expression expands an array; enabled and condition filter elements; $$ and $root reach the payload',
    configuration: {
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          jsonataExpression: 'people',
          enabled: 'active = true',
          condition: "role != 'guest'",
          fields: [
            { attribute: 'customer_number', field: 'no' },
            { attribute: 'first_name', field: 'name' },
            { attribute: 'company', field: '$$.company' },
            { attribute: 'label', jsonataExpression: "name & ' @ ' & $root.company" },
            { attribute: 'skipped', constant: 'never', enabled: false },
          ],
        },
      ],
    },
    steps: [
      {
        payload: {
          company: 'Acme',
          people: [
            { no: 'X-1', name: 'Ann', active: true, role: 'owner' },
            { no: 'X-2', name: 'Ben', active: false, role: 'owner' },
            { no: 'X-3', name: 'Cat', active: true, role: 'guest' },
            { no: 'X-4', name: 'Dan', active: true, role: 'staff' },
          ],
        },
        simulation: {
          entity_updates: [
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'X-1' },
              attributes: { customer_number: 'X-1', first_name: 'Ann', company: 'Acme', label: 'Ann @ Acme' },
              mode: 'upsert',
            },
            {
              entity_slug: 'contact',
              unique_identifiers: { customer_number: 'X-4' },
              attributes: { customer_number: 'X-4', first_name: 'Dan', company: 'Acme', label: 'Dan @ Acme' },
              mode: 'upsert',
            },
          ],
        },
        stored: {
          contact: {
            'X-1': { customer_number: 'X-1', first_name: 'Ann', company: 'Acme', label: 'Ann @ Acme' },
            'X-4': { customer_number: 'X-4', first_name: 'Dan', company: 'Acme', label: 'Dan @ Acme' },
          },
        },
      },
    ],
  },
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
];
