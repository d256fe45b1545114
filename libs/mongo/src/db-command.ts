import { LogEnv, loadConfig, MongoEnv, mongoEnvProblems } from '@hub/config';
import { createLogger } from '@hub/observability';
import Type from 'typebox';
import { MongoStore, mongoConnectionFrom } from './index.js';
import {
  applyLayout,
  type CollectionLayout,
  checkLayout,
  describeDifference,
  type IndexSpec,
  type LayoutReport,
  type LayoutServer,
} from './layout.js';

/** The settings of the layout command: the services' MongoDB settings (libs/config MongoEnv). */
export const DbCommandEnv = Type.Object({ ...LogEnv, ...MongoEnv });

const serverName = (s: LayoutServer) =>
  [s.kind === 'ferretdb' ? 'FerretDB' : 'MongoDB', s.version].filter(Boolean).join(' ');

const indexLine = (i: IndexSpec) =>
  `${i.name}${i.unique ? ' (unique)' : ''}${i.expireAfterSeconds !== undefined ? ` (TTL ${i.expireAfterSeconds} s)` : ''}`;

const collectionLine = (l: CollectionLayout) =>
  `  ${l.collection}: ${l.indexes.length === 0 ? '_id only' : l.indexes.map(indexLine).join(', ')}`;

/** The report as the command prints it: the plan on this server, each difference, a closing line. */
export function reportLines(database: string, report: LayoutReport): string[] {
  const { server } = report;
  const flavour =
    server.kind === 'ferretdb'
      ? 'the plan’s unique indexes, and the swept fields indexed plain (FerretDB answers no other query from a secondary index), no TTL (the services sweep expired documents, read from those indexes)'
      : 'every index of the plan, TTL indexes for expiry';
  const planned = report.layouts.reduce((n, l) => n + l.indexes.length, 0);
  return [
    `database ${database} on ${serverName(server)}: ${flavour}`,
    ...report.layouts.map(collectionLine),
    ...report.differences.map(describeDifference),
    ...report.unknown.map((u) => `note: ${u.collection}.${u.index} is not in the plan (left alone)`),
    report.differences.length === 0
      ? `all ${report.layouts.length} collections as planned on ${serverName(server)} (${planned} ${planned === 1 ? 'index' : 'indexes'} besides _id)`
      : `${report.differences.length} difference(s) from the plan on ${serverName(server)}`,
  ];
}

/**
 * `npm run db -- --check|--apply` and the Kubernetes layout Job (`node libs/mongo/dist/db-cli.js`): every
 * collection's indexes and TTL against the plan (plan.ts). `check` lists each difference; `apply` makes
 * them as planned (collMod where MongoDB converts in place, otherwise drop and build), then checks.
 * Resolves with the exit code: 0 when everything is as planned, 1 otherwise (or when the settings are
 * invalid: every problem is written).
 */
export async function runDbCommand(
  mode: 'check' | 'apply',
  env: Record<string, string | undefined>,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<number> {
  let config: ReturnType<typeof loadConfig<typeof DbCommandEnv>>;
  try {
    config = loadConfig('db', DbCommandEnv, env, [mongoEnvProblems]);
  } catch (err) {
    write((err as Error).message);
    return 1;
  }
  const logger = createLogger({
    service: 'db',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  const store = await MongoStore.connect({ ...mongoConnectionFrom(config), logger, appName: 'db-layout' });
  try {
    const report =
      mode === 'apply'
        ? await applyLayout(store, undefined, (d) => write(`applying ${describeDifference(d)}`))
        : await checkLayout(store);
    for (const line of reportLines(store.db.databaseName, report)) write(line);
    return report.differences.length === 0 ? 0 : 1;
  } finally {
    await store.close();
  }
}
