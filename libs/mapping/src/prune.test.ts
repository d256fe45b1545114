import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import type { EntityConfig } from './types.js';

const meters = (extra: Partial<EntityConfig>): EntityConfig => ({
  entity_schema: 'meter',
  unique_ids: ['meter_number'],
  jsonataExpression: 'meters',
  fields: [
    { attribute: 'meter_number', field: 'id' },
    { attribute: 'type', field: 'type' },
  ],
  ...extra,
});

const payload = {
  account: 'BA-1',
  site: 'S-9',
  meters: [
    { id: 'M1', type: 'power' },
    { id: 'M2', type: 'gas' },
  ],
};

describe('modes and prune scopes', () => {
  it.each([
    { mode: 'upsert', expected: 'upsert' },
    { mode: 'delete', expected: 'delete' },
    { mode: 'purge', expected: 'purge' },
    { mode: 'upsert-prune-scope-delete', expected: 'upsert' },
    { mode: 'upsert-prune-scope-purge', expected: 'upsert' },
  ] as const)('mode $mode reports $expected per update', async ({ mode, expected }) => {
    const scope = { scope_mode: 'query' as const, query: [{ attribute: 'site', field: 'site' }] };
    const result = await CompiledMapping.compile({ entities: [meters({ mode, scope })] }).map(payload);
    expect(result.failures).toEqual([]);
    expect(result.entity_updates.map((u) => [u.unique_identifiers, u.mode])).toEqual([
      [{ meter_number: 'M1' }, expected],
      [{ meter_number: 'M2' }, expected],
    ]);
    expect(result.prune_scope_updates).toHaveLength(mode.startsWith('upsert-prune') ? 1 : 0);
  });

  it.each([
    {
      name: 'relations scope with a billing account, delete',
      entity: meters({
        mode: 'upsert-prune-scope-delete',
        scope: {
          scope_mode: 'relations',
          schema: 'billing_account',
          unique_ids: [{ attribute: 'external_id', field: 'account' }],
        },
      }),
      payload,
      expected: {
        entity_slug: 'meter',
        scope: { scope_mode: 'relations', schema: 'billing_account', unique_ids: { external_id: 'BA-1' } },
        keep_unique_ids: [{ meter_number: 'M1' }, { meter_number: 'M2' }],
        deletion_mode: 'delete',
      },
    },
    {
      name: 'query scope with attribute/value pairs (constant + field), purge',
      entity: meters({
        mode: 'upsert-prune-scope-purge',
        scope: {
          scope_mode: 'query',
          query: [
            { attribute: 'site_id', field: '$.site' },
            { attribute: 'source', constant: 'ERP' },
          ],
        },
      }),
      payload,
      expected: {
        entity_slug: 'meter',
        scope: { scope_mode: 'query', query: { site_id: 'S-9', source: 'ERP' } },
        keep_unique_ids: [{ meter_number: 'M1' }, { meter_number: 'M2' }],
        deletion_mode: 'purge',
      },
    },
    {
      name: 'an empty array keeps nothing: everything in scope is pruned',
      entity: meters({
        mode: 'upsert-prune-scope-delete',
        scope: { scope_mode: 'query', query: [{ attribute: 'site_id', field: 'site' }] },
      }),
      payload: { site: 'S-9', meters: [] },
      expected: {
        entity_slug: 'meter',
        scope: { scope_mode: 'query', query: { site_id: 'S-9' } },
        keep_unique_ids: [],
        deletion_mode: 'delete',
      },
    },
    {
      name: 'elements disabled by `enabled` are not kept; scope reads the root, not the element',
      entity: meters({
        mode: 'upsert-prune-scope-delete',
        enabled: 'type = "power"',
        scope: { scope_mode: 'relations', schema: 'site', unique_ids: [{ attribute: 'id', field: 'site' }] },
      }),
      payload,
      expected: {
        entity_slug: 'meter',
        scope: { scope_mode: 'relations', schema: 'site', unique_ids: { id: 'S-9' } },
        keep_unique_ids: [{ meter_number: 'M1' }],
        deletion_mode: 'delete',
      },
    },
  ])('$name', async ({ entity, payload, expected }) => {
    const result = await CompiledMapping.compile({ entities: [entity] }).map(payload);
    expect(result.failures).toEqual([]);
    expect(result.prune_scope_updates).toEqual([expected]);
  });

  it.each([
    {
      name: 'a scope value missing from the payload',
      entity: meters({
        mode: 'upsert-prune-scope-delete',
        scope: {
          scope_mode: 'relations',
          schema: 'billing_account',
          unique_ids: [{ attribute: 'x', field: 'no' }],
        },
      }),
      payload,
      codes: ['PRUNE_SCOPE_INVALID'],
      updates: 2,
    },
    {
      name: 'no scope configured',
      entity: meters({ mode: 'upsert-prune-scope-purge' }),
      payload,
      codes: ['PRUNE_SCOPE_INVALID'],
      updates: 2,
    },
    {
      name: 'one element failing (its unique id is missing): pruning would delete it, so it is skipped',
      entity: meters({
        mode: 'upsert-prune-scope-delete',
        scope: { scope_mode: 'query', query: [{ attribute: 'site_id', field: 'site' }] },
      }),
      payload: { site: 'S-9', meters: [{ id: 'M1' }, { type: 'gas' }] },
      codes: ['UNIQUE_ID_MISSING', 'PRUNE_SCOPE_SKIPPED'],
      updates: 1,
    },
  ])('no prune scope, a failure instead: $name', async ({ entity, payload, codes, updates }) => {
    const result = await CompiledMapping.compile({ entities: [entity] }).map(payload);
    expect(result.prune_scope_updates).toEqual([]);
    expect(result.entity_updates).toHaveLength(updates);
    expect(result.failures.map((f) => f.code)).toEqual(codes);
  });
});
