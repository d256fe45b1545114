import { describe, expect, it } from 'vitest';
import { convertV1Object } from './v1-mapping.js';

describe('convertV1Object', () => {
  it('turns the reference v1.0 example into an inbound configuration', () => {
    expect(
      convertV1Object({
        unique_ids: { contact: { partner_id: '_id' } },
        fields: [
          { entity: 'contact', attribute: 'first_name', field: 'firstName' },
          { entity: 'contact', attribute: 'last_name', field: 'lastName' },
        ],
      }),
    ).toEqual({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['_id'],
          fields: [
            { attribute: '_id', field: 'partner_id' },
            { attribute: 'first_name', field: 'firstName' },
            { attribute: 'last_name', field: 'lastName' },
          ],
        },
      ],
    });
  });

  it('keeps list unique ids and every target entity in order', () => {
    const converted = convertV1Object({
      unique_ids: { contact: ['customer_number'] },
      fields: [
        { entity: 'contact', attribute: 'customer_number', field: 'id' },
        { entity: 'account', attribute: 'name', jsonataExpression: 'company' },
      ],
    });
    expect(converted.entities.map((e) => [e.entity_schema, e.unique_ids])).toEqual([
      ['contact', ['customer_number']],
      ['account', []],
    ]);
  });
});
