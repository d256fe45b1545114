import { describe, expect, it } from 'vitest';
import { lookupConditions, matchesUniqueIds, writableAttributes } from './lookup.js';

describe('lookup rules', () => {
  it('matches typed email/phone unique ids on the nested value', () => {
    expect(lookupConditions({ customer_number: 'C001', email: [{ email: 'a@b.c' }] })).toEqual([
      { path: 'customer_number', value: 'C001' },
      { path: 'email.email', value: 'a@b.c' },
    ]);
  });

  it('never lets a mapping overwrite store-owned attributes', () => {
    expect(writableAttributes({ _id: 'x', _org: 'evil', first_name: 'J', 'a.b': 1, $where: 1 })).toEqual({
      first_name: 'J',
    });
  });

  it('keeps an entity in a prune scope only when every unique id matches', () => {
    const meter = { meter_number: 'M1', site: 'S1', email: [{ email: 'a@b.c' }, { email: 'x@y.z' }] };
    expect(matchesUniqueIds(meter, { meter_number: 'M1' })).toBe(true);
    expect(matchesUniqueIds(meter, { meter_number: 'M1', site: 'S2' })).toBe(false);
    expect(matchesUniqueIds(meter, { email: [{ email: 'x@y.z' }] })).toBe(true);
    expect(matchesUniqueIds(meter, {})).toBe(false);
  });
});
