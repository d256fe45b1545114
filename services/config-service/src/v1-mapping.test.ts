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

describe('convertV1Object on a large body (issue 19: it ran on the event loop, quadratic)', () => {
  it('reads each field a bounded number of times, however many entities the fields name', () => {
    const n = 3000;
    let reads = 0;
    const plain = Array.from({ length: n }, (_, i) => ({ entity: `e${i}`, attribute: 'a', field: `f${i}` }));
    // Counts every element read: the quadratic version read n × n (9,000,000) elements here.
    const fields = new Proxy(plain, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const converted = convertV1Object({ unique_ids: { e0: { remote: 'a', other: 'b' } }, fields });
    expect(converted.entities).toHaveLength(n);
    expect(converted.entities[0]).toEqual({
      entity_schema: 'e0',
      unique_ids: ['a', 'b'],
      fields: [
        { attribute: 'b', field: 'other' },
        { attribute: 'a', field: 'f0' },
      ],
    });
    expect(reads).toBeLessThanOrEqual(2 * n);
  });
});
