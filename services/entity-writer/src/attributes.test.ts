import { describe, expect, it } from 'vitest';
import { applyArrayOperation, linkedEntityIds, mergeAttributes, upsertRefItem } from './attributes.js';

const link = (id: string, tags: string[] = []) => ({ entity_id: id, _schema: 'contact', _tags: tags });

describe('array operations against the stored entity', () => {
  const stored = ['a', 'b'];
  it.each([
    ['_set', ['b', 'c'], ['b', 'c']],
    ['_append', ['b', 'c'], ['a', 'b', 'c']],
    ['_append_all', ['b', 'c'], ['a', 'b', 'b', 'c']],
  ] as const)('%s %j onto ["a","b"] gives %j', (op, items, expected) => {
    expect(applyArrayOperation(stored, op, [...items], false)).toEqual(expected);
  });

  it('behaves like _set on a new entity, for both appends', () => {
    expect(applyArrayOperation(undefined, '_append', ['x'], true)).toEqual(['x']);
    expect(applyArrayOperation(['old'], '_append_all', ['x'], true)).toEqual(['x']);
  });

  it('compares objects deeply: an equal email is not appended twice', () => {
    expect(
      applyArrayOperation([{ email: 'a@b.c' }], '_append', [{ email: 'a@b.c' }, { email: 'x@y.z' }], false),
    ).toEqual([{ email: 'a@b.c' }, { email: 'x@y.z' }]);
  });
});

describe('mergeAttributes', () => {
  const current = {
    name: 'old',
    tags: ['vip'],
    contacts: { $relation: [link('c1', ['PRIMARY'])] },
    refs: { $relation_ref: [{ entity_id: 'c1', path: 'address', _id: 'a1' }] },
  };

  it('appends only new entity ids to a relation, and _append_all adds them all', () => {
    expect(
      mergeAttributes(current, {
        contacts: { kind: 'relation', op: '_append', items: [link('c1'), link('c2')] },
      }),
    ).toEqual({ contacts: { $relation: [link('c1', ['PRIMARY']), link('c2')] } });
    expect(
      mergeAttributes(current, {
        contacts: { kind: 'relation', op: '_append_all', items: [link('c1')] },
      }),
    ).toEqual({ contacts: { $relation: [link('c1', ['PRIMARY']), link('c1')] } });
  });

  it('replaces with _set and plain values, and appends relation_refs by (entity, path, _id)', () => {
    expect(
      mergeAttributes(current, {
        name: { kind: 'value', value: 'new' },
        tags: { kind: 'array', op: '_append', items: ['vip', 'b2b'] },
        contacts: { kind: 'relation', op: '_set', items: [link('c9')] },
        refs: {
          kind: 'relation_ref',
          op: '_append',
          items: [
            { entity_id: 'c1', path: 'address', _id: 'a1' },
            { entity_id: 'c1', path: 'address', _id: 'a2' },
          ],
        },
      }),
    ).toEqual({
      name: 'new',
      tags: ['vip', 'b2b'],
      contacts: { $relation: [link('c9')] },
      refs: {
        $relation_ref: [
          { entity_id: 'c1', path: 'address', _id: 'a1' },
          { entity_id: 'c1', path: 'address', _id: 'a2' },
        ],
      },
    });
  });

  it('lists every linked entity id once', () => {
    expect(linkedEntityIds(current)).toEqual(['c1']);
  });
});

describe('upsertRefItem', () => {
  const stored = [{ street: 'Main St 1', city: 'Berlin', _id: 'a1' }];
  it('keeps the _id of a deep-equal item and changes nothing', () => {
    expect(upsertRefItem(stored, { city: 'Berlin', street: 'Main St 1' }, '_append', 'new')).toEqual({
      items: stored,
      _id: 'a1',
      changed: false,
    });
  });

  it('adds a different item with the new id, or replaces everything with _set', () => {
    const other = { street: 'Side St 2', city: 'Bonn' };
    expect(upsertRefItem(stored, other, undefined, 'a2').items).toEqual([...stored, { ...other, _id: 'a2' }]);
    expect(upsertRefItem(stored, other, '_set', 'a2')).toEqual({
      items: [{ ...other, _id: 'a2' }],
      _id: 'a2',
      changed: true,
    });
  });

  it('gives an equal item stored without an id that id in place', () => {
    expect(upsertRefItem([{ city: 'Bonn' }], { city: 'Bonn' }, '_append', 'a3').items).toEqual([
      { city: 'Bonn', _id: 'a3' },
    ]);
  });
});
