import { describe, expect, it } from 'vitest';
import { CompiledMapping } from './engine.js';
import type { InboundConfiguration } from './types.js';
import { validateInboundConfiguration } from './validate.js';

const guide: InboundConfiguration = {
  entities: [
    {
      entity_schema: 'contact',
      unique_ids: ['customer_number'],
      fields: [
        { attribute: 'customer_number', field: 'customerId' },
        { attribute: 'first_name', field: 'firstName' },
        { attribute: 'last_name', field: 'lastName' },
        { attribute: 'email', field: 'email', _type: 'email' },
      ],
    },
  ],
};

describe('CompiledMapping', () => {
  it('maps the getting-started guide payload', async () => {
    const mapping = CompiledMapping.compile(guide);
    const result = await mapping.map({
      customerId: 'C001',
      firstName: 'John',
      lastName: 'Doe',
      email: 'john.doe@example.com',
    });
    expect(result.failures).toEqual([]);
    expect(result.entity_updates).toEqual([
      {
        entity_slug: 'contact',
        unique_identifiers: { customer_number: 'C001' },
        attributes: {
          customer_number: 'C001',
          first_name: 'John',
          last_name: 'Doe',
          email: [{ email: 'john.doe@example.com' }],
        },
        mode: 'upsert',
      },
    ]);
  });

  it('gives constant priority over jsonataExpression over field, and leaves undefined out', async () => {
    const mapping = CompiledMapping.compile({
      entities: [
        {
          entity_schema: 'contract',
          unique_ids: ['number'],
          fields: [
            { attribute: 'number', field: '$.contract.id' },
            { attribute: 'status', constant: 'active', jsonataExpression: '"ignored"', field: 'status' },
            { attribute: 'name', jsonataExpression: '$uppercase(name)', field: 'name' },
            { attribute: 'missing', field: 'nope' },
            { attribute: 'nothing', jsonataExpression: 'nope' },
            { attribute: 'explicit_null', jsonataExpression: 'null' },
            { attribute: 'phone', field: 'tel', _type: 'phone', _tags: ['mobile'] },
          ],
        },
      ],
    });
    const result = await mapping.map({
      contract: { id: 'K-1' },
      status: 'draft',
      name: 'acme',
      tel: '+49 1',
    });
    expect(result.entity_updates[0]?.attributes).toEqual({
      number: 'K-1',
      status: 'active',
      name: 'ACME',
      explicit_null: null,
      phone: [{ phone: '+49 1', _tags: ['mobile'] }],
    });
  });

  it('expands an array from the entity expression, with $$ reaching the root payload', async () => {
    const mapping = CompiledMapping.compile({
      entities: [
        {
          entity_schema: 'meter',
          unique_ids: ['meter_number'],
          jsonataExpression: 'meters',
          enabled: 'active = true',
          fields: [
            { attribute: 'meter_number', field: 'id' },
            { attribute: 'customer', field: '$$.customer' },
          ],
        },
      ],
    });
    const result = await mapping.map({
      customer: 'C9',
      meters: [
        { id: 'M1', active: true },
        { id: 'M2', active: false },
        { id: 'M3', active: true },
      ],
    });
    expect(result.entity_updates.map((u) => u.attributes)).toEqual([
      { meter_number: 'M1', customer: 'C9' },
      { meter_number: 'M3', customer: 'C9' },
    ]);
  });

  it('reports an expression failure for that update only, naming the attribute', async () => {
    const mapping = CompiledMapping.compile({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['id'],
          fields: [
            { attribute: 'id', field: 'id' },
            { attribute: 'bad', jsonataExpression: '$number("x")' },
          ],
        },
        { entity_schema: 'account', unique_ids: ['id'], fields: [{ attribute: 'id', field: 'id' }] },
      ],
    });
    const result = await mapping.map({ id: '1' });
    expect(result.entity_updates.map((u) => u.entity_slug)).toEqual(['account']);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]).toMatchObject({ code: 'MAPPING_EXPRESSION_FAILED', attribute: 'bad' });
    expect(result.failures[0]?.message).toContain('$number');
  });

  it('never maps an update whose unique id is empty', async () => {
    const result = await CompiledMapping.compile(guide).map({ firstName: 'NoId' });
    expect(result.entity_updates).toEqual([]);
    expect(result.failures[0]).toMatchObject({ code: 'UNIQUE_ID_MISSING', attribute: 'customer_number' });
  });

  it('stops a runaway expression within its time budget', async () => {
    const mapping = CompiledMapping.compile(
      {
        entities: [
          {
            entity_schema: 'x',
            unique_ids: ['id'],
            fields: [
              { attribute: 'id', field: 'id' },
              {
                attribute: 'spin',
                jsonataExpression: '($f := function($n){ $n > 0 ? $f($n - 1) : 0 }; $f(100000))',
              },
            ],
          },
        ],
      },
      { timeoutMs: 100, maxDepth: 300 },
    );
    const started = Date.now();
    const result = await mapping.map({ id: '1' });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.failures[0]?.attribute).toBe('spin');
  });
});

describe('validateInboundConfiguration', () => {
  it('accepts the guide configuration', () => {
    expect(validateInboundConfiguration(guide)).toEqual([]);
  });

  it('lists every problem with its path', () => {
    const problems = validateInboundConfiguration({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          fields: [{ attribute: 'first_name', jsonataExpression: '$$$bad(' }, { attribute: 'x' }],
        },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      'configuration.entities[0].fields[0].jsonataExpression',
      'configuration.entities[0].fields[1]',
      'configuration.entities[0].unique_ids[0]',
    ]);
  });

  it('reports shape errors with paths', () => {
    const problems = validateInboundConfiguration({ entities: [{ unique_ids: [], fields: [] }] });
    expect(problems.some((p) => p.path.startsWith('configuration.entities[0]'))).toBe(true);
  });
});

describe('mapped values that would be query operators (issue 10)', () => {
  it('fail the one update with UNIQUE_ID_INVALID naming the attribute; the other updates map', async () => {
    const mapping = CompiledMapping.compile({
      entities: [
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          jsonataExpression: 'items',
          mode: 'purge',
          fields: [{ attribute: 'customer_number', field: 'no' }],
        },
        {
          entity_schema: 'contract',
          unique_ids: ['contract_number'],
          fields: [
            { attribute: 'contract_number', field: 'contract' },
            {
              attribute: 'owner',
              relations: {
                operation: '_set',
                jsonataExpression: '[{"_schema": "contact", "$entity_unique_ids": owner}]',
              },
            },
          ],
        },
        {
          entity_schema: 'contact',
          unique_ids: ['customer_number'],
          mode: 'upsert-prune-scope-purge',
          scope: { scope_mode: 'query', query: [{ attribute: 'first_name', field: 'scope' }] },
          fields: [{ attribute: 'customer_number', field: 'keep' }],
        },
      ],
    });
    const result = await mapping.map({
      items: [{ no: { $ne: null } }, { no: 'C2' }],
      contract: 'K1',
      owner: { _org: 'victim' },
      keep: 'C3',
      scope: { $regex: '.*' },
    });
    expect(result.entity_updates.map((u) => u.unique_identifiers)).toEqual([
      { customer_number: 'C2' },
      { customer_number: 'C3' },
    ]);
    expect(result.prune_scope_updates).toEqual([]);
    expect(result.failures.map((f) => [f.code, f.entity_index, f.attribute])).toEqual([
      ['UNIQUE_ID_INVALID', 0, 'customer_number'],
      ['UNIQUE_ID_INVALID', 1, 'owner'],
      ['UNIQUE_ID_INVALID', 2, 'scope'],
    ]);
    expect(result.failures[0]!.message).toContain('must be a string, number, boolean or an array of them');
    expect(result.failures[1]!.message).toContain('"_org" is reserved');
    expect(result.failures[2]!.message).toContain('"first_name"');
  });
});
