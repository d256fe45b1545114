import { describe, expect, it } from 'vitest';
import { constrainedFields, queriesOf, servingIndexes, unservedQueries } from './index-coverage.js';

describe('index coverage (the plan held against the queries sent)', () => {
  it('counts the fields a filter bounds: top level, $and, and what every $or branch bounds', () => {
    const fields = constrainedFields({
      $and: [{ org_ids: 'o' }, { integration_ids: 'i' }, { expires_at: { $gt: new Date() } }],
      $or: [{ max_created_at: { $lt: 'x' } }, { max_created_at: 'x', _id: { $lt: 'y' } }],
      level: { $nin: ['error'] },
      code: { $exists: true },
    });
    expect([...fields].sort()).toEqual(['expires_at', 'integration_ids', 'max_created_at', 'org_ids']);
  });

  it('finds the indexes a filter can start from on MongoDB, and none for a field no index starts with', () => {
    expect(servingIndexes('monitoring_buckets', { integration_ids: 'i', org_ids: 'o' })).toEqual([
      'integration_time',
    ]);
    expect(servingIndexes('monitoring_buckets', { event_ids: { $in: ['e'] } })).toEqual(['event_ids']);
    expect(servingIndexes('monitoring_buckets', { _id: { $in: ['0:1'] } })).toEqual(['_id_']);
    // `org_ids` leads no index of the buckets: a query by organisation alone reads the whole collection.
    expect(servingIndexes('monitoring_buckets', { org_ids: 'o' })).toEqual([]);
    // The sweep's range is served by the TTL index.
    expect(servingIndexes('monitoring_buckets', { expires_at: { $lt: new Date() } })).toEqual(['expires_at']);
  });

  it('reads the queries of each command as the driver sends it', () => {
    expect(queriesOf({ find: 'c', filter: { a: 1 }, limit: 5 })).toEqual([
      { command: 'find', collection: 'c', filter: { a: 1 } },
    ]);
    // Any one document: no scan whatever the collection holds.
    expect(queriesOf({ find: 'c', filter: {}, limit: 1 })).toEqual([]);
    expect(queriesOf({ find: 'c', filter: {}, limit: 2 })).toEqual([
      { command: 'find', collection: 'c', filter: {} },
    ]);
    expect(queriesOf({ aggregate: 'c', pipeline: [{ $match: { b: 2 } }, { $group: { _id: 1 } }] })).toEqual([
      { command: 'aggregate', collection: 'c', filter: { b: 2 } },
    ]);
    expect(queriesOf({ aggregate: 'c', pipeline: [{ $sort: { b: 1 } }] })[0]?.filter).toEqual({});
    // An update's and a delete's statements come in the body or in a document sequence.
    expect(
      queriesOf(
        { delete: 'c', deletes: [{ q: { x: 1 }, limit: 0 }] },
        { deletes: [{ q: { y: 2 }, limit: 0 }] },
      ),
    ).toEqual([
      { command: 'delete', collection: 'c', filter: { x: 1 } },
      { command: 'delete', collection: 'c', filter: { y: 2 } },
    ]);
    expect(queriesOf({ update: 'c' }, { updates: [{ q: { _id: 'k' }, u: {} }] })).toHaveLength(1);
    expect(queriesOf({ insert: 'c' }, { documents: [{ _id: 1 }] })).toEqual([]);
    expect(queriesOf({ hello: 1 })).toEqual([]);
  });

  it('names the queries no index serves, of planned collections only', () => {
    const sent = [
      { command: 'find', collection: 'inbound_requests', filter: { org_id: 'o', integration_id: 'i' } },
      { command: 'find', collection: 'inbound_requests', filter: { event_ids: 'e' } },
      { command: 'find', collection: 'not_planned', filter: { anything: 1 } },
    ];
    expect(unservedQueries(sent)).toEqual([sent[1]]);
  });
});
