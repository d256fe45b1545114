import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CollectionLayout,
  describeDifference,
  diffCollection,
  type ExistingIndex,
  type LayoutServer,
  layoutFor,
} from './layout.js';
import { DATABASE_PLAN } from './plan.js';

const mongo7: LayoutServer = { kind: 'mongodb', version: '7.0.14', release: [7, 0] };
const mongo6: LayoutServer = { kind: 'mongodb', version: '6.0.19', release: [6, 0] };
const ferret: LayoutServer = { kind: 'ferretdb', version: 'v1.24.2' };

const only = (server: LayoutServer, collection: string) =>
  layoutFor(server, [collection])[0] as CollectionLayout;
const names = (l: CollectionLayout) => l.indexes.map((i) => i.name);
const id: ExistingIndex = { name: '_id_', key: { _id: 1 } };
/** What listIndexes answers for a collection made exactly as planned. */
const asPlanned = (l: CollectionLayout): ExistingIndex[] => [
  id,
  ...l.indexes.map(({ serves: _s, ...index }) => index as ExistingIndex),
];

describe('the database plan', () => {
  it('declares every collection once, and every TTL on one date field', () => {
    const collections = DATABASE_PLAN.map((p) => p.collection);
    expect(new Set(collections).size).toBe(collections.length);
    for (const p of DATABASE_PLAN) {
      for (const i of p.indexes.filter((x) => x.expireAfterSeconds !== undefined)) {
        expect(Object.keys(i.key), `${p.collection}.${i.name}`).toEqual(['expires_at']);
      }
    }
  });

  it('gives MongoDB the whole plan: TTL for the sweepers’ collections, entity search and readings indexes', () => {
    const ttl = layoutFor(mongo7)
      .filter((l) => l.indexes.some((i) => i.expireAfterSeconds === 0))
      .map((l) => l.collection);
    expect(ttl.sort()).toEqual([
      'dedupe',
      'dedupe_accepted',
      'inbound_events',
      'inbound_requests',
      'monitoring_buckets',
      'monitoring_events',
      'rate_limit_slots',
      'rate_limit_windows',
    ]);
    expect(names(only(mongo7, 'entities'))).toEqual([
      'org_schema_id',
      'org_schema_attributes',
      'org_schema_links',
      'deleted_at',
    ]);
    const wildcard = only(mongo7, 'entities').indexes[1];
    expect(wildcard?.key).toEqual({ _org: 1, _schema: 1, '$**': 1 });
    // A compound wildcard index must leave its other fields out of the wildcard.
    expect(wildcard?.wildcardProjection).toMatchObject({ _org: 0, _schema: 0, _hub: 0 });
    expect(names(only(mongo7, 'inbound_events'))).toContain('org_integration_correlation_time');
    expect(names(only(mongo7, 'inbound_requests'))).toEqual([
      'org_integration_time',
      'org_integration_event_ids',
      'org_integration_correlation_time',
      'expires_at',
    ]);
    // ADR 19: multikey on the integration ids (one array per compound index) with the latest record's time.
    expect(only(mongo7, 'monitoring_buckets').indexes.map((i) => [i.name, i.key])).toEqual([
      ['integration_time', { integration_ids: 1, max_created_at: -1 }],
      ['event_ids', { event_ids: 1 }],
      ['correlation_ids', { correlation_ids: 1 }],
      ['expires_at', { expires_at: 1 }],
    ]);
    expect(names(only(mongo7, 'meter_readings'))).toEqual([
      'org_meter_external_id',
      'org_meter_counter_day',
      'org_meter_timestamp_id',
    ]);
  });

  it('falls back to a plain wildcard index on MongoDB 6.x, and drops the other one', () => {
    const six = only(mongo6, 'entities');
    expect(names(six)).toContain('attributes');
    expect(names(six)).not.toContain('org_schema_attributes');
    expect(six.unwanted.get('org_schema_attributes')).toMatch(/replaced by attributes/);
    expect(only(mongo7, 'entities').unwanted.get('attributes')).toMatch(/replaced by org_schema_attributes/);
  });

  it('gives FerretDB the unique indexes and the swept fields’ (no TTL), and marks every other index of ours for dropping', () => {
    const made = layoutFor(ferret).flatMap((l) => l.indexes.map((i) => `${l.collection}.${i.name}`));
    expect(made.sort()).toEqual(
      [
        'dedupe.expires_at',
        'dedupe_accepted.expires_at',
        'entities.deleted_at',
        'inbound_events.expires_at',
        'inbound_requests.expires_at',
        'monitoring_buckets.expires_at',
        'monitoring_events.expires_at',
        'rate_limit_slots.expires_at',
        'rate_limit_windows.expires_at',
        'use_cases.integration_slug',
      ].sort(),
    );
    // The sweep's index (retention.ts, docs/adr/0017): plain, FerretDB has no TTL.
    expect(only(ferret, 'dedupe').indexes).toEqual([
      expect.objectContaining({ name: 'expires_at', key: { expires_at: 1 } }),
    ]);
    expect(only(ferret, 'dedupe').indexes[0]).not.toHaveProperty('expireAfterSeconds');
    expect(only(ferret, 'entities').unwanted.get('org_schema_id')).toMatch(/FerretDB/);
    expect(only(ferret, 'monitoring_events').unwanted.get('org_event')).toMatch(/FerretDB/);
  });

  it('is documented: every collection and index has its line in docs/production-mongodb.md', () => {
    const doc = readFileSync(new URL('../../../docs/production-mongodb.md', import.meta.url), 'utf8');
    for (const p of DATABASE_PLAN) {
      const section = doc.split(`#### \`${p.collection}\``)[1]?.split('####')[0];
      expect(section, p.collection).toBeDefined();
      for (const i of p.indexes.flatMap((x) => [x, ...(x.fallback ? [x.fallback] : [])])) {
        expect(section, `${p.collection}.${i.name}`).toMatch(new RegExp(`\\| \`${i.name}\` +\\|`));
      }
    }
  });

  it('refuses a collection nobody planned', () => {
    expect(() => layoutFor(mongo7, ['entitys'])).toThrow('no layout planned for collection(s) entitys');
  });
});

describe('diffCollection', () => {
  it('finds nothing to do on a collection made as planned', () => {
    for (const layout of layoutFor(mongo7)) {
      expect(diffCollection(layout, asPlanned(layout)), layout.collection).toEqual({
        differences: [],
        unknown: [],
      });
    }
  });

  it('takes a wildcard projection stated otherwise (another order, booleans, an explicit _id: 0) as the same', () => {
    const layout = only(mongo7, 'entities');
    const existing = asPlanned(layout).map((i) =>
      i.name === 'org_schema_attributes'
        ? {
            ...i,
            wildcardProjection: Object.fromEntries([
              ['_id', 0],
              ...Object.keys(i.wildcardProjection ?? {})
                .reverse()
                .map((k) => [k, false]),
            ]),
          }
        : i,
    );
    expect(diffCollection(layout, existing).differences).toEqual([]);
  });

  it('names a missing index and creates it', () => {
    const layout = only(mongo7, 'meter_readings');
    const existing = asPlanned(layout).filter((i) => i.name !== 'org_meter_counter_day');
    const { differences } = diffCollection(layout, existing);
    expect(differences.map(describeDifference)).toEqual([
      'meter_readings.org_meter_counter_day: missing (--apply: create)',
    ]);
    expect(differences[0]?.fix).toMatchObject({ kind: 'create', index: { name: 'org_meter_counter_day' } });
  });

  it('converts the sweepers’ plain expires_at index into a TTL index in place, and unhides a hidden one', () => {
    const layout = only(mongo7, 'monitoring_events');
    const existing = asPlanned(layout).map((i) =>
      i.name === 'expires_at'
        ? { name: 'expires_at', key: { expires_at: 1 } }
        : i.name === 'org_event'
          ? { ...i, hidden: true }
          : i,
    );
    const { differences } = diffCollection(layout, existing);
    expect(differences.map(describeDifference)).toEqual([
      'monitoring_events.org_event: hidden, planned visible (--apply: convert in place (collMod))',
      'monitoring_events.expires_at: no TTL, planned expireAfterSeconds 0 (--apply: convert in place (collMod))',
    ]);
    expect(differences.map((d) => d.fix)).toEqual([
      { kind: 'collMod', index: { name: 'org_event', hidden: false } },
      { kind: 'collMod', index: { name: 'expires_at', expireAfterSeconds: 0 } },
    ]);
    const changed = asPlanned(layout).map((i) =>
      i.name === 'expires_at' ? { ...i, expireAfterSeconds: 3600 } : i,
    );
    expect(diffCollection(layout, changed).differences.map((d) => d.problem)).toEqual([
      'expireAfterSeconds 3600, planned expireAfterSeconds 0',
    ]);
  });

  it('rebuilds what collMod cannot change: the key, uniqueness, the projection, a TTL to be removed', () => {
    const layout = only(mongo7, 'entities');
    const existing = asPlanned(layout).map((i) =>
      i.name === 'org_schema_links'
        ? { ...i, key: { _org: 1, '_hub.links': 1 } }
        : i.name === 'org_schema_attributes'
          ? { ...i, wildcardProjection: { _hub: 0 } }
          : i.name === 'deleted_at'
            ? { ...i, unique: true, expireAfterSeconds: 60 }
            : i,
    );
    const { differences } = diffCollection(layout, existing);
    expect(differences.map((d) => [d.index, d.fix.kind])).toEqual([
      ['org_schema_attributes', 'recreate'],
      ['org_schema_links', 'recreate'],
      ['deleted_at', 'recreate'],
    ]);
    expect(differences[2]?.problem).toBe(
      'unique, planned not unique; expires documents (expireAfterSeconds 60), planned no expiry',
    );
    expect(describeDifference(differences[1] as never)).toBe(
      'entities.org_schema_links: key {"_org":1,"_hub.links":1}, planned {"_org":1,"_schema":1,"_hub.links":1} (--apply: drop and rebuild)',
    );
  });

  it('rebuilds an index whose key exists under another name (MongoDB refuses a second one, error 85)', () => {
    const layout = only(mongo7, 'meter_readings');
    const existing = [
      ...asPlanned(layout).filter((i) => i.name !== 'org_meter_external_id'),
      { name: 'by_external_id', key: { _org: 1, meter_id: 1, external_id: 1 } },
    ];
    const { differences, unknown } = diffCollection(layout, existing);
    expect(differences.map(describeDifference)).toEqual([
      'meter_readings.org_meter_external_id: missing (its key is indexed as by_external_id) (--apply: drop by_external_id, build org_meter_external_id)',
    ]);
    expect(unknown).toEqual([]);
  });

  it('drops retired indexes and, on FerretDB, our secondary ones; leaves indexes it does not know alone', () => {
    const readings = only(mongo7, 'meter_readings');
    const old = [
      ...asPlanned(readings),
      { name: 'org_meter_timestamp', key: { _org: 1, meter_id: 1, timestamp: 1 } },
      { name: 'reporting', key: { meter_id: 1, _created_at: 1 } },
    ];
    const diff = diffCollection(readings, old);
    expect(diff.differences.map(describeDifference)).toEqual([
      'meter_readings.org_meter_timestamp: an earlier layout’s index, no longer used (--apply: drop)',
    ]);
    expect(diff.unknown).toEqual(['reporting']);
    const useCases = only(ferret, 'use_cases');
    const onFerret = diffCollection(useCases, [
      id,
      { name: 'integration_slug', key: { integrationId: 1, slug: 1 }, unique: true },
      { name: 'org_integration', key: { orgId: 1, integrationId: 1 } },
    ]);
    expect(onFerret.differences.map((d) => [d.index, d.fix.kind])).toEqual([['org_integration', 'drop']]);
  });
});
