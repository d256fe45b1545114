import { describe, expect, it } from 'vitest';
import { decodeKeys, encodeKeys } from './storage-keys.js';

describe('storage keys', () => {
  it('stores $relation under a key the database accepts and reads it back unchanged', () => {
    const entity = {
      billing_account: { $relation: [{ entity_id: 'e1', _schema: 'billing_account', _tags: [] }] },
      odd: { _$x: 1, __$y: [{ $z: 2 }] },
      plain: 'v',
    };
    const stored = encodeKeys(entity);
    expect(stored).toEqual({
      billing_account: { _$relation: [{ entity_id: 'e1', _schema: 'billing_account', _tags: [] }] },
      odd: { __$x: 1, ___$y: [{ _$z: 2 }] },
      plain: 'v',
    });
    expect(JSON.stringify(stored)).not.toMatch(/"\$/);
    expect(decodeKeys(stored)).toEqual(entity);
  });
});
