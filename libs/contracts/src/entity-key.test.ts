import { describe, expect, it } from 'vitest';
import { canonicalJson, entityKey } from './entity-key.js';

describe('entityKey', () => {
  it('is the same for the same unique ids in any key order', () => {
    expect(entityKey('o', 'contract', { a: 1, b: 'x' })).toBe(entityKey('o', 'contract', { b: 'x', a: 1 }));
    expect(canonicalJson({ b: [{ y: 1, x: 2 }], a: null })).toBe('{"a":null,"b":[{"x":2,"y":1}]}');
  });

  it('differs by organisation, schema and value', () => {
    const keys = new Set([
      entityKey('o1', 'contact', { id: '1' }),
      entityKey('o2', 'contact', { id: '1' }),
      entityKey('o1', 'account', { id: '1' }),
      entityKey('o1', 'contact', { id: '01' }),
    ]);
    expect(keys.size).toBe(4);
  });
});
