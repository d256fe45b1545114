import { describe, expect, it } from 'vitest';
import { ConfigView } from './config-view.js';

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
