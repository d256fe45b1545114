import { describe, expect, it } from 'vitest';
import { attributeNameProblem, uniqueIdValueProblem } from './attributes.js';
import { decodeEntityUpdatesMessage } from './entity-updates.js';

describe('attribute names', () => {
  it('refuses the store’s own fields, operators, paths and NUL; allows ordinary and underscore names', () => {
    for (const name of ['_org', '_schema', '_id', '_hub', '_created_at', '_updated_at', '_deleted_at']) {
      expect(attributeNameProblem(name), name).toBe('is reserved for the entity store');
    }
    expect(attributeNameProblem('$where')).toContain('"$"');
    expect(attributeNameProblem('address.city')).toContain('"."');
    expect(attributeNameProblem('a\u0000b')).toContain('NUL');
    expect(attributeNameProblem('')).toBe('must not be empty');
    for (const name of ['customer_number', '_tags', 'first-name', 'e$mail']) {
      expect(attributeNameProblem(name), name).toBeUndefined();
    }
  });
});

describe('unique-id values', () => {
  it('accepts plain values, arrays of them and typed email/phone items', () => {
    for (const value of ['C1', 42, true, ['a', 'b'], [{ email: 'a@b.c' }], [{ phone: '1', _tags: ['x'] }]]) {
      expect(uniqueIdValueProblem(value), JSON.stringify(value)).toBeUndefined();
    }
  });

  it('refuses operators, objects, nested arrays, empty arrays and non-finite numbers', () => {
    for (const value of [
      { $ne: null },
      { $regex: '.*' },
      [{ $gt: '' }],
      [{ email: { $ne: null } }],
      [['a']],
      [],
      null,
      Number.NaN,
    ]) {
      expect(uniqueIdValueProblem(value), JSON.stringify(value)).toBeDefined();
    }
    expect(uniqueIdValueProblem({ $ne: null })).toContain('not an object');
  });
});

describe('a poison kind on erp.entity.updates', () => {
  it('is a schema error, not a crash (Object.prototype names are not kinds)', () => {
    for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => decodeEntityUpdatesMessage(JSON.stringify({ schema_version: 1, kind }))).toThrow(
        /kind must be one of/,
      );
    }
  });
});
