import { describe, expect, it } from 'vitest';
import { compileFieldPath, FieldPathError, resolveField } from './path.js';

const payload = {
  customerId: 'C-1',
  'odd key': 'odd',
  'a.b': 'dotted key',
  contract: { id: 'K-1', status: null },
  address: { street: 'Main St 1', city: 'Berlin' },
  items: [
    { id: 'I-1', type: 'x', qty: 1 },
    { id: 'I-2', type: 'y', qty: 5 },
    { id: 'I-3', type: 'x', qty: 9 },
  ],
  Customer: { '@_id': '007', '#text': 'ACME' },
  E1KNA1M: { KUNNR: '0000100042', E1KNVVM: [{ VKORG: '1000' }, { VKORG: '2000' }] },
};

describe('field paths the earlier subset read, same results (issue 20)', () => {
  it.each([
    ['customerId', 'C-1'],
    ['a.b', 'dotted key'], // a plain key is looked up literally, dots included
    ['nope', undefined],
    ['$.customerId', 'C-1'],
    ['$.contract.id', 'K-1'],
    ['$.contract.status', null],
    ['$.contract.missing', undefined],
    ['$.contract.id.deeper', undefined],
    ['$.address.street', 'Main St 1'],
    ['$.items[0].id', 'I-1'],
    ['$.items[7].id', undefined],
    ["$['odd key']", 'odd'],
    ['$["odd key"]', 'odd'],
    ["$['a.b']", 'dotted key'],
    ['$.Customer.@_id', '007'], // XML attributes: not an RFC 9535 shorthand name, read as before
    ['$.Customer.#text', 'ACME'],
    ['$.items.1.id', 'I-2'], // a name of digits indexes an array, as before
    ['$', payload],
  ])('%s', (field, expected) => {
    expect(resolveField(field, payload, {})).toEqual(expected);
  });

  it('starts at the root payload with $$ and at the current element with $', () => {
    const element = { id: 'M1' };
    expect(resolveField('$$.customerId', element, payload)).toBe('C-1');
    expect(resolveField('$.id', element, payload)).toBe('M1');
    expect(resolveField('$$', element, payload)).toBe(payload);
  });
});

describe('field paths per RFC 9535', () => {
  it.each([
    ['$.E1KNA1M.E1KNVVM[*].VKORG', ['1000', '2000']],
    ['$.items[*].id', ['I-1', 'I-2', 'I-3']],
    ['$..VKORG', ['1000', '2000']],
    ["$.items[?(@.type=='x')].id", ['I-1', 'I-3']],
    ["$.items[?@.type=='y'].id", 'I-2'], // one node: its value, not an array
    ['$.items[?@.qty > 100].id', undefined], // no node: left out
    ['$.items[-1].id', 'I-3'],
    ['$.items[0:2].id', ['I-1', 'I-2']],
    ['$.items[::-1].qty', [9, 5, 1]],
    ["$.items[?match(@.id, 'I-[12]')].qty", [1, 5]],
    ['$.items[?length(@.id) == 3].type', ['x', 'y', 'x']],
    ["$['address','contract'].id", 'K-1'],
  ])('%s', (field, expected) => {
    expect(resolveField(field, payload, {})).toEqual(expected);
  });

  it('refuses an invalid path with an error naming it', () => {
    for (const bad of ['$.a[', '$.items[?@.qty >]', '$.a..', '$[1:2:3:4]', '$.items[?foo(@)]']) {
      expect(() => compileFieldPath(bad)).toThrow(FieldPathError);
      expect(() => compileFieldPath(bad)).toThrow(`invalid JSONPath ${bad}: `);
    }
  });

  it('compiles once and reads many elements', () => {
    const path = compileFieldPath('$.items[?@.qty >= 5].id');
    expect(path(payload, payload)).toEqual(['I-2', 'I-3']);
    expect(path({ items: [{ id: 'Z', qty: 5 }] }, {})).toBe('Z');
    expect(path(undefined, {})).toBeUndefined();
    expect(path('text', {})).toBeUndefined();
  });
});
