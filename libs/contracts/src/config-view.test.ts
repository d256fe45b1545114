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

describe('ConfigView: records decoded when their organisation first needs them (ADR 0015, decision 23)', () => {
  const headers = (orgId: string, revision: number) => ({
    'x-org-id': orgId,
    'x-config-revision': String(revision),
  });
  const record = (id: string, orgId: string, revision: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      schema_version: 1,
      integration: { id, orgId, name: 'n', created_at: 'x', updated_at: 'x', revision },
      use_cases: [],
      ...extra,
    });

  it('does not decode another organisation’s record while catching up, nor on another organisation’s request', () => {
    const unreadable: string[] = [];
    const view = new ConfigView({ onUnreadable: (id) => unreadable.push(id) });
    view.apply('mine', Buffer.from(record('mine', 'org-a', 1)), headers('org-a', 1));
    // Org b's record is not JSON at all: decoding it on arrival would throw here.
    expect(() => view.apply('theirs', Buffer.from('{"not json'), headers('org-b', 7))).not.toThrow();
    expect(view.integration('org-a', 'mine')?.integration.revision).toBe(1);
    expect(view.integration('org-a', 'theirs')).toBeUndefined();
    expect(view.integrationForApp('org-a', 'app', 'component')).toBeUndefined();
    expect(unreadable).toEqual([]);
    expect(view.undecodedCount).toBe(1);
    // Org b's own request decodes it: unreadable, reported, and nothing is served for it.
    expect(view.integration('org-b', 'theirs')).toBeUndefined();
    expect(unreadable).toEqual(['theirs']);
    expect(view.undecodedCount).toBe(0);
  });

  it('keeps the highest revision whatever the arrival order, decoded or not, and forgets a deleted integration', () => {
    const view = new ConfigView();
    view.apply('i1', record('i1', 'org-a', 3), headers('org-a', 3));
    view.apply('i1', record('i1', 'org-a', 2), headers('org-a', 2));
    expect(view.integration('org-a', 'i1')?.integration.revision).toBe(3);
    view.apply('i1', record('i1', 'org-a', 2), headers('org-a', 2));
    view.apply('i1', record('i1', 'org-a', 5), headers('org-a', 5));
    view.apply('i1', record('i1', 'org-a', 4), headers('org-a', 4));
    expect(view.undecodedCount).toBe(1);
    expect(view.integration('org-a', 'i1')?.integration.revision).toBe(5);
    // A record without the headers (an older publisher's) is decoded at once, and a newer one supersedes
    // the record held undecoded.
    view.apply('i1', record('i1', 'org-a', 7), headers('org-a', 7));
    view.apply('i1', record('i1', 'org-a', 8));
    expect(view.undecodedCount).toBe(0);
    expect(view.integration('org-a', 'i1')?.integration.revision).toBe(8);
    view.apply('i1', record('i1', 'org-a', 9), headers('org-a', 9));
    view.apply('i1', null);
    view.apply('i1', record('i1', 'org-a', 10), headers('org-a', 10));
    expect(view.undecodedCount).toBe(0);
    expect(view.integration('org-a', 'i1')).toBeUndefined();
    expect(view.size).toBe(0);
    expect(view.bytes).toBe(0);
  });

  it('resolves app mappings from the organisation’s records held undecoded', () => {
    const view = new ConfigView();
    const apps = { app_mappings: [{ app_id: 'a', component_id: 'c' }] };
    view.apply('i1', record('i1', 'org-a', 1, apps), headers('org-a', 1));
    view.apply('i2', '{"not json', headers('org-b', 1));
    expect(view.integrationForApp('org-a', 'a', 'c')).toBe('i1');
    expect(view.undecodedCount).toBe(1); // org b's record still waits
  });

  it('counts the records held undecoded by their bytes, and decodes the oldest past its bound', () => {
    const one = record('i1', 'org-a', 1, { notes: 'n'.repeat(1_000) });
    const two = record('i2', 'org-b', 1, { notes: 'n'.repeat(1_000) });
    const view = new ConfigView({ maxUndecodedBytes: Buffer.byteLength(one) + 10 });
    view.apply('i1', one, headers('org-a', 1));
    expect(view.bytes).toBe(Buffer.byteLength(one));
    expect(view.size).toBe(1);
    view.apply('i2', two, headers('org-b', 1));
    expect(view.undecodedCount).toBe(1);
    expect(view.bytes).toBe(held(one) + Buffer.byteLength(two));
    expect(view.size).toBe(2);
  });
});
