import { describe, expect, it } from 'vitest';
import { ConfigView } from './config-view.js';
import { heldBytes } from './held-bytes.js';

/** What a record costs held decoded. */
const held = (record: string) => heldBytes(JSON.parse(record), Buffer.byteLength(record));

const snapshot = (revision: number, orgId = 'org-a') =>
  JSON.stringify({
    schema_version: 1,
    integration: { id: 'i1', orgId, name: 'n', created_at: 'x', updated_at: 'x', revision },
    use_cases: [],
  });

describe('ConfigView', () => {
  it('keeps the highest revision, whatever the arrival order', () => {
    const view = new ConfigView();
    view.apply('i1', snapshot(3));
    view.apply('i1', snapshot(2));
    expect(view.integration('org-a', 'i1')?.integration.revision).toBe(3);
    view.apply('i1', snapshot(4));
    expect(view.integration('org-a', 'i1')?.integration.revision).toBe(4);
  });

  it('hides another organisation’s integration and forgets deleted ones', () => {
    const view = new ConfigView();
    view.apply('i1', snapshot(1));
    expect(view.integration('org-b', 'i1')).toBeUndefined();
    view.apply('i1', null);
    view.apply('i1', snapshot(5));
    expect(view.integration('org-a', 'i1')).toBeUndefined();
  });
});

describe('ConfigView app mappings', () => {
  it('resolves an app component to its integration within the organisation, and follows remapping', () => {
    const view = new ConfigView();
    const withApp = (id: string, revision: number, apps: Array<{ app_id: string; component_id: string }>) =>
      JSON.stringify({
        schema_version: 1,
        integration: { id, orgId: 'org-a', name: 'n', created_at: 'x', updated_at: 'x', revision },
        use_cases: [],
        app_mappings: apps,
      });
    view.apply('i1', withApp('i1', 1, [{ app_id: 'a', component_id: 'c' }]));
    expect(view.integrationForApp('org-a', 'a', 'c')).toBe('i1');
    expect(view.integrationForApp('org-b', 'a', 'c')).toBeUndefined();
    view.apply('i1', withApp('i1', 2, []));
    view.apply('i2', withApp('i2', 1, [{ app_id: 'a', component_id: 'c' }]));
    expect(view.integrationForApp('org-a', 'a', 'c')).toBe('i2');
  });
});

describe('ConfigView bytes', () => {
  it('counts what the snapshots it holds cost: the latest per integration, none for a deleted one', () => {
    const view = new ConfigView();
    const one = snapshot(1);
    const two = JSON.stringify({ ...JSON.parse(snapshot(2)), use_cases: [], notes: 'n'.repeat(1000) });
    view.apply('i1', one);
    expect(view.bytes).toBe(held(one));
    view.apply('i1', Buffer.from(two));
    expect(view.bytes).toBe(held(two));
    view.apply('i1', one); // an older revision arriving late replaces nothing
    expect(view.bytes).toBe(held(two));
    view.apply('i2', snapshot(1).replace('"i1"', '"i2"'));
    expect(view.bytes).toBe(held(two) + held(one));
    view.apply('i1', null);
    expect(view.bytes).toBe(held(one));
    view.apply('i2', '');
    expect(view.bytes).toBe(0);
  });
});

describe('ConfigView without configurations (the gateway)', () => {
  it('keeps what routing needs, drops each use case’s configuration, and counts only what it keeps', () => {
    const record = JSON.stringify({
      schema_version: 1,
      integration: { id: 'i1', orgId: 'org-a', name: 'n', created_at: 'x', updated_at: 'x', revision: 1 },
      use_cases: [
        {
          id: 'u1',
          integrationId: 'i1',
          name: 'Customers',
          slug: 'customers',
          type: 'inbound',
          enabled: true,
          configuration: { entities: [], notes: 'n'.repeat(100_000) },
          created_at: 'x',
          updated_at: 'x',
          revision: 1,
        },
      ],
    });
    const full = new ConfigView();
    const routing = new ConfigView({ configurations: false });
    full.apply('i1', record);
    routing.apply('i1', record);
    expect(full.useCase('i1', 'u1')?.configuration).toBeDefined();
    expect(routing.useCase('i1', 'u1')).toMatchObject({ slug: 'customers', enabled: true, type: 'inbound' });
    expect(routing.useCase('i1', 'u1')).not.toHaveProperty('configuration');
    expect(full.bytes).toBe(held(record));
    expect(routing.bytes).toBeGreaterThan(100);
    expect(routing.bytes).toBeLessThan(1_000);
  });
});
