import { randomUUID } from 'node:crypto';
import type { IntegrationRecord, UseCaseRecord } from '@hub/contracts';
import { ApiError } from '@hub/http';
import { describe, expect, it } from 'vitest';
import {
  checkConfigurationBudget,
  entryDelta,
  newSnapshotBytes,
  OrgConfigurationBudget,
  patchedUseCase,
  projectedIntegration,
  projectedUseCase,
  recordDelta,
  sizeOf,
  snapshotMessage,
} from './budget.js';
import { EDITABLE_INTEGRATION_FIELDS } from './repository.js';

const budget = { orgBytes: 10_000, integrationBytes: 4_000 };
const now = () => new Date().toISOString();

/** The error a check throws, or undefined when it passes. */
function refusal(fn: () => void): ApiError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  return undefined;
}

describe('checkConfigurationBudget', () => {
  it('refuses growth past the organisation’s budget, naming the budget, the use now and the size attempted', () => {
    const err = refusal(() =>
      checkConfigurationBudget(budget, 9_000, { integrationId: 'i1', before: 2_000, after: 3_500 }),
    );
    expect(err?.statusCode).toBe(400);
    expect(err?.code).toBe('LIMIT_EXCEEDED');
    expect(err?.message).toBe(
      'configuration budget: this organisation holds 9000 bytes of configuration of its budget of 10000 bytes; this change (+1500 bytes to integration i1) would make it 10500 bytes: delete or shrink use cases or integrations first',
    );
  });

  it('refuses an integration past its own limit, even with budget left', () => {
    const err = refusal(() =>
      checkConfigurationBudget(budget, 3_000, { integrationId: 'i1', before: 3_000, after: 4_001 }),
    );
    expect(err?.code).toBe('LIMIT_EXCEEDED');
    expect(err?.message).toContain(
      'integration i1 would hold 4001 bytes of configuration (now 3000), over the limit of 4000 bytes per integration',
    );
    const created = refusal(() => checkConfigurationBudget(budget, 0, { before: 0, after: 5_000 }));
    expect(created?.message).toContain('the new integration would hold 5000 bytes');
  });

  it('allows growth up to the budget exactly, and any change that does not grow, even over a lowered budget', () => {
    expect(
      refusal(() => checkConfigurationBudget(budget, 9_000, { integrationId: 'i', before: 0, after: 1_000 })),
    ).toBeUndefined();
    expect(
      refusal(() =>
        checkConfigurationBudget(budget, 50_000, { integrationId: 'i', before: 9_000, after: 8_000 }),
      ),
    ).toBeUndefined();
    expect(
      refusal(() =>
        checkConfigurationBudget(budget, 50_000, { integrationId: 'i', before: 9_000, after: 9_000 }),
      ),
    ).toBeUndefined();
  });
});

describe('the size of a change, estimated before the write', () => {
  const orgId = 'org-budget';
  const configuration = {
    entities: [{ entity_schema: 'contact', unique_ids: ['id'], fields: [{ attribute: 'ä', field: 'é' }] }],
  };

  // What the repository stores and the publisher sends, built as they build it.
  const storedUseCase = (integrationId: string, extra: Partial<UseCaseRecord> = {}): UseCaseRecord => ({
    id: randomUUID(),
    integrationId,
    name: 'Customers',
    slug: 'customers',
    type: 'inbound',
    enabled: true,
    configuration,
    changed_by: 'user-1',
    created_at: now(),
    updated_at: now(),
    revision: 1,
    ...extra,
  });
  const storedIntegration = (fields: Record<string, unknown>, revision = 1): IntegrationRecord => ({
    ...fields,
    id: randomUUID(),
    orgId,
    name: String(fields.name),
    created_at: now(),
    updated_at: now(),
    revision,
  });

  it('a created use case adds what its stored record adds to the snapshot', () => {
    const integration = storedIntegration({ name: 'erp' });
    const existing = storedUseCase(integration.id);
    const created = storedUseCase(integration.id, { slug: 'orders', name: 'Orders' });
    const before = sizeOf(snapshotMessage(integration, [existing], []));
    const after = sizeOf(snapshotMessage(integration, [existing, created], []));
    const input = { name: 'Orders', slug: 'orders', type: 'inbound' as const, enabled: true, configuration };
    expect(entryDelta(undefined, projectedUseCase(integration.id, input, 'user-1'))).toBe(after - before);
  });

  it('an updated use case and a deleted one change the snapshot by what their records change', () => {
    const integration = storedIntegration({ name: 'erp' });
    const current = storedUseCase(integration.id, { change_description: 'first' });
    const bigger = { entities: [{ ...configuration.entities[0], condition: 'x'.repeat(500) }] };
    const updated: UseCaseRecord = {
      ...current,
      configuration: bigger,
      change_description: 'second change',
      updated_at: now(),
      revision: 2,
    };
    const other = storedUseCase(integration.id, { slug: 'other' });
    const before = sizeOf(snapshotMessage(integration, [current, other], []));
    const after = sizeOf(snapshotMessage(integration, [updated, other], []));
    const patch = { configuration: bigger, change_description: 'second change' };
    expect(entryDelta(current, patchedUseCase(current, patch, 'user-1'))).toBe(after - before);
    const withoutIt = sizeOf(snapshotMessage(integration, [other], []));
    expect(entryDelta(current, undefined)).toBe(withoutIt - before);
  });

  it('a new integration with use cases, and an integration’s new fields, are sized as stored', () => {
    const fields = { name: 'erp', description: 'd'.repeat(300), settings: { a: 1 }, ignored: 'x'.repeat(99) };
    const integration = storedIntegration({
      name: 'erp',
      description: fields.description,
      settings: fields.settings,
    });
    const useCase = storedUseCase(integration.id);
    const input = {
      name: 'Customers',
      slug: 'customers',
      type: 'inbound' as const,
      enabled: true,
      configuration,
    };
    expect(
      newSnapshotBytes(projectedIntegration(orgId, fields, EDITABLE_INTEGRATION_FIELDS), [
        projectedUseCase(integration.id, input, 'user-1'),
      ]),
    ).toBe(sizeOf(snapshotMessage(integration, [useCase], [])));

    const replaced = { name: 'erp', app_ids: ['a'.repeat(200)] }; // description and settings removed
    const after = { ...storedIntegration({ name: 'erp', app_ids: replaced.app_ids }, 2), id: integration.id };
    expect(
      recordDelta(
        integration,
        projectedIntegration(orgId, replaced, EDITABLE_INTEGRATION_FIELDS, integration),
      ),
    ).toBe(sizeOf(after) - sizeOf(integration));
  });
});

describe('OrgConfigurationBudget', () => {
  it('sums the kept sizes and measures (once asked) an integration published before sizes were kept', async () => {
    const measured: string[] = [];
    const usage = new OrgConfigurationBudget(
      {
        configBytes: async () => [
          { id: 'a', bytes: 3_000 },
          { id: 'b', bytes: undefined },
        ],
      },
      async (_org, id) => {
        measured.push(id);
        return 2_500;
      },
      { orgBytes: 10_000, integrationBytes: 8_000 },
    );
    const held = await usage.usage('org');
    expect(held.total).toBe(5_500);
    expect(held.of('a')).toBe(3_000);
    expect(held.of('b')).toBe(2_500);
    expect(measured).toEqual(['b']);
    const writes: string[] = [];
    const write = (what: string) => async () => {
      writes.push(what);
      return what;
    };
    await expect(usage.checkGrowth('org', 'a', 1_000, write('grow a'))).resolves.toBe('grow a');
    await expect(usage.checkGrowth('org', 'a', 4_501, write('grow a more'))).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    await expect(usage.checkNew('org', 4_500, write('new'))).resolves.toBe('new');
    await expect(usage.checkNew('org', 4_501, write('new, larger'))).rejects.toThrow(
      'would make it 10001 bytes',
    );
    // Nothing of a refused change is written.
    expect(writes).toEqual(['grow a', 'new']);
  });

  it('checks and writes a growing change under the organisation’s lock, a shrinking one without it', async () => {
    const held: string[] = [];
    const budget = new OrgConfigurationBudget(
      { configBytes: async () => [] },
      async () => undefined,
      { orgBytes: 10_000, integrationBytes: 8_000 },
      {
        hold: async (key, body) => {
          held.push(key);
          return body();
        },
      },
    );
    await budget.checkGrowth('org-1', 'a', 10, async () => 'grown');
    await budget.checkNew('org-1', 10, async () => 'new');
    await budget.checkGrowth('org-1', 'a', -10, async () => 'shrunk');
    expect(held).toEqual(['configuration-budget:org-1', 'configuration-budget:org-1']);
  });

  it('waits for the organisation’s change rate before any change, and writes nothing when it refuses', async () => {
    const seen: string[] = [];
    const budget = new OrgConfigurationBudget(
      { configBytes: async () => [] },
      async () => undefined,
      { orgBytes: 10_000, integrationBytes: 8_000 },
      undefined,
      {
        admit: async (org) => {
          seen.push(`admit ${org}`);
          if (org === 'noisy') throw new ApiError(429, 'CONFIGURATION_RATE_EXCEEDED', 'too fast');
        },
      },
    );
    const write = (what: string) => async () => {
      seen.push(what);
      return what;
    };
    expect(await budget.checkGrowth('quiet', 'a', -10, write('shrunk'))).toBe('shrunk');
    const refused = [
      await budget.checkGrowth('noisy', 'a', 10, write('grown')).catch((err: unknown) => err),
      await budget.checkGrowth('noisy', 'a', 0, write('same')).catch((err: unknown) => err),
      await budget.checkNew('noisy', 10, write('new')).catch((err: unknown) => err),
    ];
    for (const err of refused)
      expect(err).toMatchObject({ statusCode: 429, code: 'CONFIGURATION_RATE_EXCEEDED' });
    expect(seen).toEqual(['admit quiet', 'shrunk', 'admit noisy', 'admit noisy', 'admit noisy']);
  });
});
