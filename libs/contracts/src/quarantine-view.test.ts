import { describe, expect, it } from 'vitest';
import { QuarantineView, quarantineKey } from './quarantine-view.js';

const record = (revision: number, orgId = 'org-a') =>
  JSON.stringify({
    schema_version: 1,
    org_id: orgId,
    integration_id: 'i1',
    use_case_id: 'uc1',
    revision,
    since: '2026-12-06T08:00:00.000Z',
    code: 'USE_CASE_QUARANTINED',
    reason: 'its events kept hitting the mapping budget',
  });

describe('QuarantineView', () => {
  it('reports the quarantined revision only, to its own organisation', () => {
    const view = new QuarantineView();
    view.apply(quarantineKey('uc1', 2), record(2));
    expect(view.of('org-a', 'uc1', 2)).toMatchObject({ revision: 2, since: '2026-12-06T08:00:00.000Z' });
    expect(view.of('org-a', 'uc1', 3)).toBeUndefined(); // the configuration changed since
    expect(view.of('org-b', 'uc1', 2)).toBeUndefined();
  });

  it('releases a revision on its tombstone, and never lets an older record replace a newer one', () => {
    const view = new QuarantineView();
    view.apply(quarantineKey('uc1', 3), record(3));
    view.apply(quarantineKey('uc1', 2), record(2)); // a late copy of an older quarantine
    view.apply(quarantineKey('uc1', 2), null); // its release
    expect(view.of('org-a', 'uc1', 3)?.revision).toBe(3);
    view.apply(quarantineKey('uc1', 3), null);
    expect(view.of('org-a', 'uc1', 3)).toBeUndefined();
    expect(view.size).toBe(0);
  });

  it('rejects a record that does not match its schema, naming the topic', () => {
    expect(() => new QuarantineView().apply('uc1@1', '{"schema_version":1}')).toThrow(
      /erp.mapper.quarantines/,
    );
  });
});
