import type { DbOptions, Document, MongoClient, W } from 'mongodb';

/** How the server is deployed, from its `hello` reply. */
export type Topology = 'standalone' | 'replicaSet' | 'sharded';

/** A write concern as the hub describes it (the driver's `w`, `journal` and `wtimeoutMS`). */
export interface WriteConcernSpec {
  w?: number | string | undefined;
  j?: boolean | undefined;
  wtimeoutMS?: number | undefined;
}

/**
 * What the database can do, detected once at connect (`MongoStore.connect`) from `hello`, `buildInfo` and
 * `getDefaultRWConcern`. Every choice libs/mongo makes between MongoDB and FerretDB, and between
 * topologies, is made from this object; services read it only through libs/mongo's helpers.
 */
export interface DatabaseCapabilities {
  server: 'MongoDB' | 'FerretDB';
  /** The server's version: MongoDB's, or FerretDB's own (`unknown` for a build from source). */
  version: string;
  topology: Topology;
  /** The replica set's name (`setName`), on a replica set. */
  replicaSet?: string | undefined;
  /** Members the primary knows (hosts, passives, arbiters); on a replica set. */
  members?: number | undefined;
  /** Arbiters among them: with one, the server's implicit default write concern is w:1 (MongoDB 5.0+). */
  arbiters: number;
  /** The server has logical sessions (`logicalSessionTimeoutMinutes` in `hello`). */
  sessions: boolean;
  /** Multi-document transactions: MongoDB on a replica set or sharded cluster, with sessions. */
  transactions: boolean;
  /** The driver retries a write once after a failover: `retryWrites` on, sessions, not standalone. */
  retryableWrites: boolean;
  /** The cluster-wide default write concern (`getDefaultRWConcern`), when the server has the command. */
  serverDefaultWriteConcern?: (WriteConcernSpec & { source?: string | undefined }) | undefined;
  /**
   * The write concern every write of the hub carries: on MongoDB `{w: 'majority', j: true}` with a
   * `wtimeoutMS`, each key overridden by the connection string when it sets it (`w=`, `journal=`,
   * `wtimeoutMS=`); on FerretDB none (it stores a write before answering it, and has no replicas).
   */
  writeConcern: WriteConcernSpec & { source: 'hub' | 'url' | 'none' };
  /** The read concern of every read outside a transaction: `majority` on MongoDB, none on FerretDB. */
  readConcern?: 'majority' | undefined;
  /** TTL indexes expire documents (MongoDB); on FerretDB 1.24 a sweeper deletes them. */
  ttlIndexes: boolean;
}

/** The hub's write concern on MongoDB: acknowledged by a majority, journaled, answered within 10 s. */
export const HUB_WRITE_CONCERN = { w: 'majority', j: true, wtimeoutMS: 10_000 } as const;

export interface CapabilityReplies {
  /** The `hello` reply of the server the client selected for writes (primary or mongos). */
  hello: Document;
  buildInfo: Document;
  /** `getDefaultRWConcern`'s reply; undefined when the server lacks it or refuses it (permissions). */
  defaultRWConcern?: Document | undefined;
  /** The write concern the connection string sets (the driver's `client.options.writeConcern`). */
  urlWriteConcern?: WriteConcernSpec | undefined;
  /** The driver's `retryWrites` (default true; the connection string may turn it off). */
  retryWrites: boolean;
}

/** Reads the capabilities from the server's replies (pure: unit-tested with real replies of each topology). */
export function capabilitiesFrom(replies: CapabilityReplies): DatabaseCapabilities {
  const { hello, buildInfo } = replies;
  const server = 'ferretdbVersion' in buildInfo ? 'FerretDB' : 'MongoDB';
  const version = String(
    (server === 'FerretDB' ? buildInfo.ferretdbVersion : buildInfo.version) ?? 'unknown',
  );
  const topology: Topology =
    hello.msg === 'isdbgrid' || hello.serviceId !== undefined
      ? 'sharded'
      : typeof hello.setName === 'string'
        ? 'replicaSet'
        : 'standalone';
  const list = (key: string) => (Array.isArray(hello[key]) ? (hello[key] as unknown[]).length : 0);
  const members =
    topology === 'replicaSet' ? list('hosts') + list('passives') + list('arbiters') || undefined : undefined;
  const sessions = hello.logicalSessionTimeoutMinutes != null;
  const wire = Number(hello.maxWireVersion ?? 0);
  const transactions =
    server === 'MongoDB' &&
    sessions &&
    ((topology === 'replicaSet' && wire >= 7) || (topology === 'sharded' && wire >= 8));
  const retryableWrites = replies.retryWrites && sessions && topology !== 'standalone';
  const rw = replies.defaultRWConcern?.defaultWriteConcern as Document | undefined;
  const serverDefaultWriteConcern =
    replies.defaultRWConcern && replies.defaultRWConcern.ok !== 0
      ? {
          w: rw?.w,
          j: rw?.j,
          wtimeoutMS: rw?.wtimeout,
          source: replies.defaultRWConcern.defaultWriteConcernSource as string | undefined,
        }
      : undefined;
  const url = replies.urlWriteConcern ?? {};
  const urlSets = url.w !== undefined || url.j !== undefined || url.wtimeoutMS !== undefined;
  const writeConcern: DatabaseCapabilities['writeConcern'] =
    server === 'FerretDB'
      ? { ...url, source: urlSets ? 'url' : 'none' }
      : {
          w: url.w ?? HUB_WRITE_CONCERN.w,
          j: url.j ?? HUB_WRITE_CONCERN.j,
          wtimeoutMS: url.wtimeoutMS ?? HUB_WRITE_CONCERN.wtimeoutMS,
          source: urlSets ? 'url' : 'hub',
        };
  return {
    server,
    version,
    topology,
    replicaSet: topology === 'replicaSet' ? (hello.setName as string) : undefined,
    members,
    arbiters: list('arbiters'),
    sessions,
    transactions,
    retryableWrites,
    serverDefaultWriteConcern,
    writeConcern,
    readConcern: server === 'MongoDB' ? 'majority' : undefined,
    ttlIndexes: server === 'MongoDB',
  };
}

/**
 * Whether writes with this concern survive the loss of the primary: `majority`, a custom mode (a tag set
 * the operator defined, taken as meant), or a number of members that is a majority of the replica set.
 */
export function isMajorityWriteConcern(c: DatabaseCapabilities, w = c.writeConcern.w): boolean {
  if (w === undefined) return false;
  if (typeof w === 'string') return true; // 'majority' or a custom getLastErrorModes tag set
  if (c.topology === 'replicaSet' && c.members) return w >= Math.floor(c.members / 2) + 1;
  return false;
}

/** The setting that lets a production service start on a database that cannot keep writes across a failover. */
export const WEAK_DURABILITY_SETTING = 'MONGO_ALLOW_WEAK_DURABILITY=true';

/**
 * Why a production service must not start on this database (empty: it may). MongoDB only: FerretDB keeps
 * what the local stack does today. A standalone server loses acknowledged writes with its disk and has no
 * retryable writes or transactions; a write concern below majority lets acknowledged writes roll back at
 * a failover. `allowWeakDurability` accepts both risks.
 */
export function durabilityProblems(
  c: DatabaseCapabilities,
  settings: { production: boolean; allowWeakDurability: boolean },
): string[] {
  if (!settings.production || settings.allowWeakDurability || c.server !== 'MongoDB') return [];
  const problems: string[] = [];
  if (c.topology === 'standalone') {
    problems.push(
      `MONGO_URL: the server is a standalone MongoDB ${c.version} (no replica set): an acknowledged write is lost with its disk, and writes cannot be retried across a restart; run a replica set (one member is enough to start: rs.initiate()) or set ${WEAK_DURABILITY_SETTING} to accept the risk`,
    );
  } else if (!isMajorityWriteConcern(c)) {
    problems.push(
      `MONGO_URL: writes would be acknowledged with w:${String(c.writeConcern.w)} (set by the connection string), below majority: an acknowledged write can be rolled back after a failover; remove w= from MONGO_URL (the hub writes with w:majority) or set ${WEAK_DURABILITY_SETTING} to accept the risk`,
    );
  }
  return problems;
}

const formatWriteConcern = (wc: WriteConcernSpec) =>
  [
    wc.w !== undefined ? `w:${wc.w}` : undefined,
    wc.j !== undefined ? `j:${wc.j}` : undefined,
    wc.wtimeoutMS ? `wtimeout:${wc.wtimeoutMS}ms` : undefined,
  ]
    .filter(Boolean)
    .join(' ');

/**
 * The one start-up line, e.g. `database: MongoDB 8.0.4 replica set rs0 (3 members), writes w:majority
 * j:true wtimeout:10000ms, reads majority from the primary, retryable writes on, transactions, TTL indexes`.
 */
export function describeCapabilities(c: DatabaseCapabilities): string {
  const where =
    c.topology === 'replicaSet'
      ? `replica set ${c.replicaSet}${c.members ? ` (${c.members} members${c.arbiters ? `, ${c.arbiters} arbiter` : ''})` : ''}`
      : c.topology === 'sharded'
        ? 'sharded cluster'
        : 'standalone';
  const writes =
    c.writeConcern.source === 'none'
      ? 'writes with the server default (no write concern)'
      : `writes ${formatWriteConcern(c.writeConcern)}${c.writeConcern.source === 'url' ? ' (from MONGO_URL)' : ''}`;
  const serverDefault = c.serverDefaultWriteConcern
    ? ` (server default ${formatWriteConcern(c.serverDefaultWriteConcern) || 'unset'}${c.serverDefaultWriteConcern.source ? `, ${c.serverDefaultWriteConcern.source}` : ''})`
    : '';
  const reads = c.readConcern ? `reads ${c.readConcern} from the primary` : 'reads from the primary';
  return [
    `database: ${c.server} ${c.version === 'unknown' ? '(version unknown)' : c.version} ${where}`,
    `${writes}${serverDefault}`,
    reads,
    `retryable writes ${c.retryableWrites ? 'on' : 'off'}`,
    c.transactions ? 'transactions' : 'no transactions',
    c.ttlIndexes ? 'TTL indexes' : 'no TTL indexes (sweepers)',
  ].join(', ');
}

/** Asks the server (the primary, or a mongos) once; `getDefaultRWConcern` is optional (FerretDB lacks it, some users may not run it). */
export async function detectCapabilities(client: MongoClient): Promise<DatabaseCapabilities> {
  const admin = client.db('admin');
  const hello = await admin.command({ hello: 1 }).catch(() => admin.command({ isMaster: 1 }));
  const buildInfo = await admin.command({ buildInfo: 1 });
  const defaultRWConcern = await admin.command({ getDefaultRWConcern: 1 }).catch(() => undefined);
  const wc = client.options.writeConcern;
  return capabilitiesFrom({
    hello,
    buildInfo,
    defaultRWConcern,
    urlWriteConcern: wc ? { w: wc.w, j: wc.journal, wtimeoutMS: wc.wtimeoutMS } : undefined,
    retryWrites: client.options.retryWrites,
  });
}

/**
 * The database handle's options from the capabilities: every read from the primary (version checks and
 * compare-and-set writes must see the latest write, whatever `readPreference` the connection string
 * asks); on MongoDB the hub's write concern and majority reads (a "duplicate" or "already applied"
 * answer is then one that cannot be rolled back).
 */
export function databaseOptions(c: DatabaseCapabilities): DbOptions {
  const options: DbOptions = { readPreference: 'primary' };
  if (c.server === 'MongoDB') {
    options.writeConcern = {
      ...(c.writeConcern.w !== undefined ? { w: c.writeConcern.w as W } : {}),
      ...(c.writeConcern.j !== undefined ? { journal: c.writeConcern.j } : {}),
      ...(c.writeConcern.wtimeoutMS !== undefined ? { wtimeoutMS: c.writeConcern.wtimeoutMS } : {}),
    };
    options.readConcern = { level: 'majority' } as DbOptions['readConcern'];
  }
  return options;
}
