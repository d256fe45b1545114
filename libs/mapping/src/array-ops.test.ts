import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import type { FieldConfig } from './types.js';
import { arrayOperationOf } from './values.js';

const payload = { id: '1', tags: ['a', 'b'], mails: ['x@y', 'z@y'], phone: '+49 1' };

describe('array operations', () => {
  it.each([
    { name: 'plain array replaces (passes as is)', field: { jsonataExpression: 'tags' }, out: ['a', 'b'] },
    {
      name: '_set from JSONata passes through',
      field: { jsonataExpression: '{"_set": tags}' },
      out: { _set: ['a', 'b'] },
    },
    {
      name: '_append from JSONata passes through',
      field: { jsonataExpression: '{"_append": tags}' },
      out: { _append: ['a', 'b'] },
    },
    {
      name: '_append_all from a constant passes through',
      field: { constant: { _append_all: ['c'] } },
      out: { _append_all: ['c'] },
    },
    {
      name: 'email + _append wraps elements inside the operation',
      field: { jsonataExpression: '{"_append": mails}', _type: 'email' },
      out: { _append: [{ email: 'x@y' }, { email: 'z@y' }] },
    },
    {
      name: 'phone + _set with _tags wraps elements inside the operation',
      field: { jsonataExpression: '{"_set": [phone]}', _type: 'phone', _tags: ['work'] },
      out: { _set: [{ phone: '+49 1', _tags: ['work'] }] },
    },
    {
      name: 'email + plain array wraps each element',
      field: { field: 'mails', _type: 'email' },
      out: [{ email: 'x@y' }, { email: 'z@y' }],
    },
    {
      name: 'an object with two keys is an ordinary value',
      field: { constant: { _set: [1], other: 2 } },
      out: { _set: [1], other: 2 },
    },
  ] as Array<{ name: string; field: Omit<FieldConfig, 'attribute'>; out: unknown }>)(
    '$name',
    async ({ field, out }) => {
      const mapping = CompiledMapping.compile({
        entities: [
          {
            entity_schema: 'contact',
            unique_ids: ['id'],
            fields: [
              { attribute: 'id', field: 'id' },
              { attribute: 'value', ...field },
            ],
          },
        ],
      });
      const result = await mapping.map(payload);
      expect(result.failures).toEqual([]);
      expect(result.entity_updates[0]?.attributes).toEqual({ id: '1', value: out });
    },
  );

  it.each([
    [{ _set: [1] }, { operation: '_set', items: [1] }],
    [{ _append: [] }, { operation: '_append', items: [] }],
    [{ _append_all: 'x' }, undefined],
    [{ _replace: [1] }, undefined],
    [[1], undefined],
    [null, undefined],
  ])('arrayOperationOf(%j) = %j', (value, expected) => {
    expect(arrayOperationOf(value)).toEqual(expected);
  });

  it('uses the elements of an operation as the unique id value', async () => {
    const mapping = CompiledMapping.compile({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['email'],
          fields: [{ attribute: 'email', jsonataExpression: '{"_append": mails}', _type: 'email' }],
        },
      ],
    });
    const result = await mapping.map(payload);
    expect(result.entity_updates[0]?.unique_identifiers).toEqual({
      email: [{ email: 'x@y' }, { email: 'z@y' }],
    });
  });
});
