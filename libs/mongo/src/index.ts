import { isExporting, type Logger } from '@hub/observability';
import {
  type Collection,
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  type MongoClientOptions,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { traceCommands } from './tracing.js';

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
export * from './layout.js';
export { type CollectionPlan, DATABASE_PLAN, type PlannedIndex } from './plan.js';
export { expireDocuments, removeExpired } from './retention.js';
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
}

/** The connection part of MongoSettings from a service's configuration (MongoEnv of libs/config). */
export function mongoConnectionFrom(env: {
  MONGO_URL: string;
  MONGO_TLS_CA_FILE?: string | undefined;
  MONGO_TLS_CERT_KEY_FILE?: string | undefined;
}): Pick<MongoSettings, 'url' | 'tlsCAFile' | 'tlsCertificateKeyFile'> {
  return {
    url: env.MONGO_URL,
    tlsCAFile: env.MONGO_TLS_CA_FILE,
    tlsCertificateKeyFile: env.MONGO_TLS_CERT_KEY_FILE,
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
 * services get typed collections from it. Works against MongoDB and FerretDB alike; where they differ
 * (indexes and TTL: layout.ts and retention.ts; the request counter: window-counter.ts) the choice is made
 * here from the server, never in the services.
 */
export class MongoStore {
  private constructor(
    readonly client: MongoClient,
    readonly db: Db,
    private readonly logger: Logger,
    private readonly url: string,
    private readonly tls: MongoClientOptions,
    /**
     * The server is FerretDB (the local stack and tests), not MongoDB. FerretDB 1.24 answers a query from
     * an index only for `_id` (patched, ADR 8); filters on any other field are evaluated over the rows.
     */
    readonly isFerretDB: boolean,
  ) {}

  static async connect(settings: MongoSettings): Promise<MongoStore> {
    const tls = tlsOptions(settings);
    const client = new MongoClient(settings.url, {
      ...tls,
      appName: settings.appName,
      serverSelectionTimeoutMS: 10_000,
      connectTimeoutMS: 5_000,
      retryWrites: false,
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
    const db = client.db(settings.database);
    const info = await db.admin().command({ buildInfo: 1 });
    const store = new MongoStore(
      client,
      db,
      settings.logger.child({ component: 'mongo', db: db.databaseName }),
      settings.url,
      tls,
      'ferretdbVersion' in info,
    );
    await store.ping();
    store.logger.info('connected to mongo');
    return store;
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
          { err, failingForMs: Date.now() - failingSince },
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

/** The database could not be reached or the connection broke: worth a retry, not a bug. */
export function isUnavailableError(err: unknown): boolean {
  return (
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoNotConnectedError ||
    err instanceof MongoTopologyClosedError ||
    // A bulk command cut off by the connection: the driver wraps the network error, keeping its message.
    (err instanceof MongoBulkWriteError &&
      [err.writeErrors].flat().filter(Boolean).length === 0 &&
      /connection .*closed|ECONNREFUSED|ECONNRESET|not connected|timed out|Topology is closed/i.test(
        err.message,
      ))
  );
}

/** A unique index rejected the write (error 11000), e.g. two writers upserting the same key at once. */
export function isDuplicateKeyError(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === 11000;
}

/**
 * Inserts documents in one command, skipping those whose `_id` (or another unique key) exists already;
 * returns the `_id`s that were skipped. Any other error is thrown. Works the same on MongoDB and FerretDB
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
    // Only "these ids exist already" is an answer: a bulk error without write errors (a connection
    // closed mid-command) or with other errors means the documents may not be stored.
    const errors = (Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]).filter(Boolean);
    if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw err;
    if (err.insertedCount + errors.length !== docs.length) throw err;
    return errors.map((e) => docs[e.index]!._id);
  }
}
