import { isExporting, type Logger } from '@hub/observability';
import {
  type Collection,
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  type MongoClientOptions,
} from 'mongodb';
import {
  type DatabaseCapabilities,
  databaseOptions,
  describeCapabilities,
  detectCapabilities,
  durabilityProblems,
} from './capabilities.js';
import { patchDriverWrites } from './driver-patch.js';
import { isDuplicateKeyError, isUnavailableError, writeConcernErrorOf, writeErrorsOf } from './errors.js';
import { traceCommands } from './tracing.js';
import { runInTransaction, type Transaction } from './transactions.js';

export type {
  AnyBulkWriteOperation,
  Collection,
  Document,
  Filter,
  FindOptions,
  IndexDescription,
  Sort,
  UpdateFilter,
  WithId,
} from 'mongodb';
export {
  capabilitiesFrom,
  type DatabaseCapabilities,
  describeCapabilities,
  durabilityProblems,
  HUB_WRITE_CONCERN,
  isMajorityWriteConcern,
  type Topology,
  WEAK_DURABILITY_SETTING,
} from './capabilities.js';
export { driverWritesPatched, patchDriverWrites } from './driver-patch.js';
export {
  isDuplicateKeyError,
  isTimeLimitError,
  isUnavailableError,
  timeLimit,
  UNAVAILABLE_CODES,
  UNAVAILABLE_LABELS,
  writeConcernErrorOf,
} from './errors.js';
export {
  constrainedFields,
  MONGODB_7,
  queriesOf,
  type SentQuery,
  servingIndexes,
  unservedQueries,
} from './index-coverage.js';
export * from './layout.js';
export { LeaseBusyError, type LeaseOptions, Leases } from './lease.js';
export { type CollectionPlan, DATABASE_PLAN, type PlannedIndex } from './plan.js';
export { expireDocuments, removeExpired, SWEEP_BATCH, sweepMatching } from './retention.js';
export { NO_TRANSACTION, type Transaction } from './transactions.js';
export { type CounterScheme, RATE_LIMIT_COLLECTIONS, WindowCounter } from './window-counter.js';

export interface MongoSettings {
  url: string;
  /** Database name; defaults to the one in the URL path. */
  database?: string;
  logger: Logger;
  appName: string;
  /** A private CA (PEM) for a `tls=true` URL, and a client certificate with its key (PEM) for mutual TLS. */
  tlsCAFile?: string | undefined;
  tlsCertificateKeyFile?: string | undefined;
  /**
   * Refuse to connect to a MongoDB that cannot keep an acknowledged write across a failover (a standalone
   * server, a write concern below majority), unless `allowWeakDurability` (docs/adr/0013).
   */
  production?: boolean | undefined;
  allowWeakDurability?: boolean | undefined;
}

/** The connection part of MongoSettings from a service's configuration (MongoEnv of libs/config). */
export function mongoConnectionFrom(env: {
  MONGO_URL: string;
  MONGO_TLS_CA_FILE?: string | undefined;
  MONGO_TLS_CERT_KEY_FILE?: string | undefined;
  HUB_ENV?: 'production' | 'development' | undefined;
  MONGO_ALLOW_WEAK_DURABILITY?: boolean | undefined;
}): Pick<
  MongoSettings,
  'url' | 'tlsCAFile' | 'tlsCertificateKeyFile' | 'production' | 'allowWeakDurability'
> {
  return {
    url: env.MONGO_URL,
    tlsCAFile: env.MONGO_TLS_CA_FILE,
    tlsCertificateKeyFile: env.MONGO_TLS_CERT_KEY_FILE,
    production: env.HUB_ENV === 'production',
    allowWeakDurability: env.MONGO_ALLOW_WEAK_DURABILITY === true,
  };
}

/** The driver's TLS options for the settings' files (TLS on when either is given). */
function tlsOptions(settings: MongoSettings): MongoClientOptions {
  if (!settings.tlsCAFile && !settings.tlsCertificateKeyFile) return {};
  return {
    tls: true,
    ...(settings.tlsCAFile ? { tlsCAFile: settings.tlsCAFile } : {}),
    ...(settings.tlsCertificateKeyFile ? { tlsCertificateKeyFile: settings.tlsCertificateKeyFile } : {}),
  };
}

/**
 * The one MongoDB connection of a service. Only this library imports the driver; repositories in the
 * services get typed collections from it. Works against MongoDB and FerretDB alike: what differs is
 * chosen from `capabilities`, detected once at connect (docs/adr/0013), never by the services (indexes and
 * TTL: layout.ts and retention.ts; the request counter: window-counter.ts).
 */
export class MongoStore {
  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly logger: Logger,
    private readonly url: string,
    private readonly tls: MongoClientOptions,
    /** What the database can do, detected at connect (capabilities.ts). */
    readonly capabilities: DatabaseCapabilities,
  ) {}

  /**
   * The server is FerretDB (the local stack and tests), not MongoDB. FerretDB 1.24 answers a query from
   * an index only for `_id` and, patched, for a date's `$lt` (the retention sweeps, ADR 8 and 17); filters
   * on any other field are evaluated over the rows.
   */
  get isFerretDB(): boolean {
    return this.capabilities.server === 'FerretDB';
  }

  static async connect(settings: MongoSettings): Promise<MongoStore> {
    const patched = patchDriverWrites();
    const tls = tlsOptions(settings);
    const client = new MongoClient(settings.url, {
      ...tls,
      appName: settings.appName,
      serverSelectionTimeoutMS: 10_000,
      connectTimeoutMS: 5_000,
      // No `retryWrites` here: the driver's default (on) or the connection string's choice. It applies
      // where the server can (sessions, not standalone), so FerretDB, a standalone server, is unaffected.
      // No write or read concern here either: they are chosen per server below, on the database handle.
      maxPoolSize: 20,
      // Polling server monitoring: with the default ('auto'), a FerretDB restart within a second or so of
      // connecting left the client unable to select the server for good (every operation failed with
      // "connection N closed" until the process restarted; reproduced outside the services, and seen by
      // the chaos test). Polling every 5 s recovers within seconds, on MongoDB too.
      serverMonitoringMode: 'poll',
      heartbeatFrequencyMS: 5_000,
      // Command events feed the database spans (tracing.ts), made only when spans are exported.
      monitorCommands: isExporting(),
    });
    if (isExporting()) traceCommands(client);
    await client.connect();
    let capabilities: DatabaseCapabilities;
    try {
      capabilities = await detectCapabilities(client);
      const problems = durabilityProblems(capabilities, {
        production: settings.production === true,
        allowWeakDurability: settings.allowWeakDurability === true,
      });
      if (problems.length > 0) {
        throw new Error(
          `refusing to start on this database (HUB_ENV=production):\n  ${problems.join('\n  ')}`,
        );
      }
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
    const db = client.db(settings.database, databaseOptions(capabilities));
    const store = new MongoStore(
      client,
      db,
      settings.logger.child({ component: 'mongo', db: db.databaseName }),
      settings.url,
      tls,
      capabilities,
    );
    await store.ping();
    store.logger.info({ capabilities }, describeCapabilities(capabilities));
    if (!patched) {
      store.logger.warn(
        'the mongodb driver changed shape: its fix for a write to a closed socket (driver-patch.ts) is not applied; a database restart can wedge this client until the watchdog restarts the service',
      );
    }
    store.logHeartbeats();
    return store;
  }

  /**
   * Runs `fn` as one transaction where the database has them (MongoDB replica set or sharded), as
   * separate writes where not (FerretDB); `fn` passes `tx` into every read and write it makes
   * (`{ ...tx }` in the driver call's options) and has no other effect (it may run again). transactions.ts.
   */
  withTransaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
    return runInTransaction(this.client, this.capabilities, fn);
  }

  /**
   * Logs the driver's view of the database when it changes: a failing heartbeat (at most once per 10 s,
   * with its error) and the first success after failures, so an operator sees why operations wait.
   */
  private logHeartbeats(): void {
    let failing = 0;
    let lastLogged = 0;
    this.client.on('serverHeartbeatFailed', (e) => {
      failing += 1;
      if (Date.now() - lastLogged < 10_000) return;
      lastLogged = Date.now();
      this.logger.warn(
        { address: e.connectionId, failures: failing, error: e.failure?.message },
        'database heartbeat failed',
      );
    });
    this.client.on('serverHeartbeatSucceeded', (e) => {
      if (failing === 0) return;
      this.logger.info({ address: e.connectionId, failures: failing }, 'database heartbeat recovered');
      failing = 0;
      lastLogged = 0;
    });
  }

  collection<T extends Document>(name: string): Collection<T> {
    return this.db.collection<T>(name);
  }

  /**
   * A safety net for a client that stays unable to reach a database that is up (seen once after a
   * FerretDB restart, see the client options): every `intervalMs` it pings; when pings have failed for
   * `afterMs` while a brand-new connection to the same URL succeeds, it calls `onWedged` (the service
   * logs and exits, and the orchestrator starts it with a fresh client). While the database itself is
   * down nothing happens: consumers keep retrying. Returns a function that stops the watchdog.
   */
  watchdog(onWedged: (error: unknown) => void, { intervalMs = 10_000, afterMs = 45_000 } = {}): () => void {
    let failingSince: number | undefined;
    let busy = false;
    const check = async () => {
      if (busy) return;
      busy = true;
      try {
        await this.ping();
        failingSince = undefined;
      } catch (err) {
        if (!isUnavailableError(err)) return;
        failingSince ??= Date.now();
        if (Date.now() - failingSince < afterMs) return;
        const probe = new MongoClient(this.url, {
          ...this.tls,
          serverSelectionTimeoutMS: 5_000,
          connectTimeoutMS: 5_000,
        });
        try {
          await probe.connect();
          await probe.db('admin').command({ ping: 1 });
        } catch {
          return; // the database is down, not our client: keep waiting
        } finally {
          await probe.close().catch(() => undefined);
        }
        this.logger.fatal(
          { err, failingForMs: Date.now() - failingSince, driver: driverState(this.client) },
          'mongo client wedged: the database answers a new connection but not this client',
        );
        onWedged(err);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void check(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * What the driver's server monitors and pools are doing, for the watchdog's report of a wedged client.
 * Reads the driver's internals (not a public API), so every field is optional and a change of shape in a
 * driver upgrade yields `{}` rather than an error.
 */
export function driverState(client: MongoClient): Record<string, unknown> {
  try {
    // biome-ignore lint/suspicious/noExplicitAny: the driver's internals have no public types
    const servers: Map<string, any> | undefined = (client as any).topology?.s?.servers;
    const out: Record<string, unknown> = {};
    for (const [address, server] of servers ?? []) {
      const monitor = server?.monitor;
      out[address] = {
        description: { type: server?.description?.type, error: server?.description?.error?.message },
        monitor: {
          state: monitor?.s?.state,
          interval: monitor?.monitorId?.toJSON?.(),
          connection: monitor?.connection
            ? { id: monitor.connection.id, closed: monitor.connection.closed }
            : null,
        },
        pool: {
          generation: server?.pool?.generation,
          total: server?.pool?.totalConnectionCount,
          available: server?.pool?.availableConnectionCount,
          pending: server?.pool?.pendingConnectionCount,
          waiting: server?.pool?.waitQueueSize,
        },
      };
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Inserts documents in one command, skipping those whose `_id` (or another unique key) exists already;
 * returns the `_id`s that were skipped. Any other error is thrown, and so is a write concern error even
 * beside duplicates (nothing of that command is known to be stored). Works the same on MongoDB and FerretDB
 * (which, unordered, falls back to one insert per document after a duplicate).
 */
export async function insertManyNew<T extends Document & { _id: string }>(
  collection: Collection<T>,
  docs: T[],
): Promise<string[]> {
  if (docs.length === 0) return [];
  try {
    await collection.insertMany(docs as unknown as Parameters<Collection<T>['insertMany']>[0], {
      ordered: false,
    });
    return [];
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError)) {
      if (isDuplicateKeyError(err) && docs.length === 1) return [docs[0]!._id];
      throw err;
    }
    // Only "these ids exist already" is an answer. A write concern error (beside duplicates or not) means
    // the inserts that were applied may be rolled back; a bulk error without write errors (a connection
    // closed mid-command) or with other errors means the documents may not be stored. Either is thrown,
    // and `isUnavailableError` calls the first two "retry later".
    if (writeConcernErrorOf(err)) throw err;
    const errors = writeErrorsOf(err);
    if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw err;
    if (err.insertedCount + errors.length !== docs.length) throw err;
    return errors.map((e) => docs[e.index]!._id);
  }
}
