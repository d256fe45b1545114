import { describe, expect, it } from 'vitest';
import {
  capabilitiesFrom,
  databaseOptions,
  describeCapabilities,
  durabilityProblems,
  isMajorityWriteConcern,
} from './capabilities.js';

// Replies as the servers send them (MongoDB 8.0 `hello` / `buildInfo` / `getDefaultRWConcern` of each
// topology, trimmed of fields the hub does not read; FerretDB's exactly as the local stack's 1.24 build
// answered them).
const common = {
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2026-12-06T01:45:46.758Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 42,
  minWireVersion: 0,
  maxWireVersion: 25,
  readOnly: false,
  ok: 1,
};
const hello = {
  standalone: { isWritablePrimary: true, topologyVersion: { counter: 0 }, ...common },
  replicaSet: {
    topologyVersion: { counter: 6 },
    hosts: ['db-0.db:27017', 'db-1.db:27017', 'db-2.db:27017'],
    setName: 'rs0',
    setVersion: 1,
    isWritablePrimary: true,
    secondary: false,
    primary: 'db-0.db:27017',
    me: 'db-0.db:27017',
    electionId: { $oid: '7fffffff0000000000000003' },
    lastWrite: { majorityWriteDate: new Date() },
    ...common,
  },
  psa: {
    hosts: ['db-0.db:27017', 'db-1.db:27017'],
    arbiters: ['arb.db:27017'],
    setName: 'rs-psa',
    isWritablePrimary: true,
    secondary: false,
    primary: 'db-0.db:27017',
    me: 'db-0.db:27017',
    ...common,
  },
  sharded: { isWritablePrimary: true, msg: 'isdbgrid', topologyVersion: { counter: 0 }, ...common },
  ferretdb: {
    isWritablePrimary: true,
    maxBsonObjectSize: 16777216,
    maxMessageSizeBytes: 48000000,
    maxWriteBatchSize: 100000,
    logicalSessionTimeoutMinutes: 30,
    connectionId: 42,
    minWireVersion: 0,
    maxWireVersion: 21,
    readOnly: false,
    ok: 1,
  },
};
const mongoBuildInfo = { version: '8.0.4', versionArray: [8, 0, 4, 0], bits: 64, ok: 1 };
const ferretBuildInfo = {
  version: '7.0.42',
  versionArray: [7, 0, 42, 0],
  ferretdbVersion: 'v1.24.2',
  ferretdbFeatures: { aggregationStages: ['$match'] },
  ok: 1,
};
const defaultRW = (w: number | string, source = 'implicit') => ({
  defaultReadConcern: { level: 'local' },
  defaultWriteConcern: { w, wtimeout: 0 },
  defaultWriteConcernSource: source,
  defaultReadConcernSource: 'implicit',
  ok: 1,
});

const production = { production: true, allowWeakDurability: false };

describe('capabilitiesFrom', () => {
  it('a replica set: majority writes, transactions, retryable writes, TTL', () => {
    const c = capabilitiesFrom({
      hello: hello.replicaSet,
      buildInfo: mongoBuildInfo,
      defaultRWConcern: defaultRW('majority'),
      retryWrites: true,
    });
    expect(c).toMatchObject({
      server: 'MongoDB',
      version: '8.0.4',
      topology: 'replicaSet',
      replicaSet: 'rs0',
      members: 3,
      sessions: true,
      transactions: true,
      retryableWrites: true,
      ttlIndexes: true,
      readConcern: 'majority',
      writeConcern: { w: 'majority', j: true, wtimeoutMS: 10_000, source: 'hub' },
      serverDefaultWriteConcern: { w: 'majority', source: 'implicit' },
    });
    expect(describeCapabilities(c)).toBe(
      'database: MongoDB 8.0.4 replica set rs0 (3 members), writes w:majority j:true wtimeout:10000ms (server default w:majority, implicit), reads majority from the primary, retryable writes on, transactions, TTL indexes',
    );
    expect(durabilityProblems(c, production)).toEqual([]);
    expect(databaseOptions(c)).toEqual({
      readPreference: 'primary',
      writeConcern: { w: 'majority', journal: true, wtimeoutMS: 10_000 },
      readConcern: { level: 'majority' },
    });
  });

  it('a sharded cluster (mongos): transactions, and no member count', () => {
    const c = capabilitiesFrom({ hello: hello.sharded, buildInfo: mongoBuildInfo, retryWrites: true });
    expect(c).toMatchObject({
      topology: 'sharded',
      transactions: true,
      retryableWrites: true,
      members: undefined,
    });
    expect(describeCapabilities(c)).toMatch(/^database: MongoDB 8\.0\.4 sharded cluster, writes w:majority/);
  });

  it('a standalone MongoDB: no retryable writes, no transactions, refused in production unless allowed', () => {
    const c = capabilitiesFrom({ hello: hello.standalone, buildInfo: mongoBuildInfo, retryWrites: true });
    expect(c).toMatchObject({ topology: 'standalone', transactions: false, retryableWrites: false });
    const problems = durabilityProblems(c, production);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/standalone MongoDB 8\.0\.4.*MONGO_ALLOW_WEAK_DURABILITY=true/);
    expect(durabilityProblems(c, { production: true, allowWeakDurability: true })).toEqual([]);
    expect(durabilityProblems(c, { production: false, allowWeakDurability: false })).toEqual([]);
  });

  it('a URL write concern wins key by key; below majority is refused in production, naming the setting', () => {
    const c = capabilitiesFrom({
      hello: hello.replicaSet,
      buildInfo: mongoBuildInfo,
      urlWriteConcern: { w: 1 },
      defaultRWConcern: defaultRW('majority'),
      retryWrites: true,
    });
    expect(c.writeConcern).toEqual({ w: 1, j: true, wtimeoutMS: 10_000, source: 'url' });
    expect(describeCapabilities(c)).toContain('writes w:1 j:true wtimeout:10000ms (from MONGO_URL)');
    expect(durabilityProblems(c, production)[0]).toMatch(
      /w:1 .*below majority.*MONGO_ALLOW_WEAK_DURABILITY=true/,
    );
    expect(durabilityProblems(c, { production: true, allowWeakDurability: true })).toEqual([]);
    // A number of members that is a majority, and the URL asking majority itself, are fine.
    expect(isMajorityWriteConcern(c, 2)).toBe(true);
    const majorityUrl = capabilitiesFrom({
      hello: hello.replicaSet,
      buildInfo: mongoBuildInfo,
      urlWriteConcern: { w: 'majority' },
      retryWrites: true,
    });
    expect(durabilityProblems(majorityUrl, production)).toEqual([]);
  });

  it('a PSA set: reports the arbiter and the w:1 server default, and still writes with majority', () => {
    const c = capabilitiesFrom({
      hello: hello.psa,
      buildInfo: mongoBuildInfo,
      defaultRWConcern: defaultRW(1),
      retryWrites: true,
    });
    expect(c).toMatchObject({ members: 3, arbiters: 1, writeConcern: { w: 'majority', source: 'hub' } });
    expect(describeCapabilities(c)).toContain('replica set rs-psa (3 members, 1 arbiter)');
    expect(describeCapabilities(c)).toContain('(server default w:1, implicit)');
    expect(durabilityProblems(c, production)).toEqual([]);
  });

  it('retryWrites=false in the URL turns retryable writes off', () => {
    const c = capabilitiesFrom({ hello: hello.replicaSet, buildInfo: mongoBuildInfo, retryWrites: false });
    expect(c.retryableWrites).toBe(false);
  });

  it('FerretDB: no write or read concern sent, no transactions, no TTL, never refused', () => {
    const c = capabilitiesFrom({ hello: hello.ferretdb, buildInfo: ferretBuildInfo, retryWrites: true });
    expect(c).toMatchObject({
      server: 'FerretDB',
      version: 'v1.24.2',
      topology: 'standalone',
      transactions: false,
      retryableWrites: false,
      ttlIndexes: false,
      readConcern: undefined,
      writeConcern: { source: 'none' },
    });
    expect(databaseOptions(c)).toEqual({ readPreference: 'primary' });
    expect(durabilityProblems(c, production)).toEqual([]);
    expect(describeCapabilities(c)).toBe(
      'database: FerretDB v1.24.2 standalone, writes with the server default (no write concern), reads from the primary, retryable writes off, no transactions, no TTL indexes (sweepers)',
    );
  });

  it('FerretDB presented as a replica-set primary (the fault injector): retryable writes, still no transactions', () => {
    const c = capabilitiesFrom({
      hello: { ...hello.ferretdb, setName: 'rs0', hosts: ['127.0.0.1:27017'] },
      buildInfo: ferretBuildInfo,
      retryWrites: true,
    });
    expect(c).toMatchObject({ topology: 'replicaSet', retryableWrites: true, transactions: false });
  });
});
