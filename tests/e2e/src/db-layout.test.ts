/**
 * Issue 18, the database layout step on the real FerretDB (as topics.test.ts for topics): the images'
 * layout command (the Kubernetes Job, `npm run db`) reports the plan of the running stack's database,
 * names a missing index, makes it with --apply, and a service with DB_LAYOUT=check refuses to start naming
 * it. What only MongoDB does (TTL, collMod, wildcard indexes) is held in libs/mongo's unit tests; see
 * docs/production-mongodb.md for what was and was not run.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { killInstances, resolveStack, spawnInstance, uniqueName } from '@hub/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const stack = resolveStack();
const logger = createLogger({ service: 'db-layout-test', level: 'warn' });
const cli = fileURLToPath(new URL('../../../libs/mongo/dist/db-cli.js', import.meta.url));

/** The stack's MongoDB URL with another database (a fresh one per test). */
const urlOf = (database: string) => {
  const url = new URL(stack.mongoUrl);
  url.pathname = `/${database}`;
  return url.toString();
};

const run = (mode: '--check' | '--apply', url: string) =>
  promisify(execFile)(process.execPath, [cli, mode], {
    env: { ...process.env, MONGO_URL: url },
    timeout: 60_000,
  }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code,
      stdout: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    }),
  );

const made: string[] = [];
let store: MongoStore;
beforeAll(async () => {
  store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'db-layout-test' });
});
afterAll(async () => {
  killInstances(); // a service that started when it should have refused
  for (const db of made) await store.client.db(db).dropDatabase();
  await store.close();
});

const indexNames = async (database: string, collection: string) =>
  (await store.client.db(database).collection(collection).listIndexes().toArray()).map((i) => i.name).sort();

describe('the database layout step', () => {
  it('reports the plan of the running stack’s database, as planned (the services applied it)', async () => {
    const { code, stdout } = await run('--check', stack.mongoUrl);
    expect(stdout).toMatch(
      /^database \S+ on FerretDB.*: the plan’s unique indexes, and the swept fields indexed plain/m,
    );
    expect(stdout).toContain('  use_cases: integration_slug (unique)');
    expect(stdout).toContain('  entities: deleted_at');
    expect(stdout).toContain('  dedupe: expires_at');
    expect(stdout).toMatch(/all 17 collections as planned on FerretDB.* \(10 indexes besides _id\)/);
    expect(code).toBe(0);
  });

  it('names a missing index and one that must go, applies the plan, and leaves unknown indexes alone', async () => {
    const database = uniqueName('layout');
    made.push(database);
    const db = store.client.db(database);
    // An index of ours FerretDB must not have (it reads no secondary index), and one of somebody else.
    await db.collection('entities').createIndex({ _org: 1, _schema: 1, _id: 1 }, { name: 'org_schema_id' });
    await db.collection('entities').createIndex({ reporting: 1 }, { name: 'reporting' });
    const before = await run('--check', urlOf(database));
    expect(before.stdout).toContain('use_cases.integration_slug: missing (--apply: create)');
    expect(before.stdout).toContain(
      'entities.org_schema_id: not made on FerretDB, which answers no query from a secondary index (--apply: drop)',
    );
    expect(before.stdout).toContain('note: entities.reporting is not in the plan (left alone)');
    expect(before.stdout).toContain('dedupe.expires_at: missing (--apply: create)');
    expect(before.stdout).toContain('11 difference(s) from the plan');
    expect(before.code).toBe(1);
    // --check changed nothing.
    expect(await indexNames(database, 'entities')).toEqual(['_id_', 'org_schema_id', 'reporting']);

    const applied = await run('--apply', urlOf(database));
    expect(applied.stdout).toContain('applying use_cases.integration_slug: missing (--apply: create)');
    expect(applied.stdout).toContain('all 17 collections as planned');
    expect(applied.code).toBe(0);
    expect(await indexNames(database, 'use_cases')).toContain('integration_slug');
    expect(await indexNames(database, 'entities')).toEqual(['_id_', 'deleted_at', 'reporting']);
    // The unique index is really there: a second use case with the same slug is refused.
    const useCases = db.collection<{ _id: string; integrationId: string; slug: string }>('use_cases');
    await useCases.insertOne({ _id: 'a', integrationId: 'i', slug: 's' });
    await expect(useCases.insertOne({ _id: 'b', integrationId: 'i', slug: 's' })).rejects.toThrow(/E11000/);
    expect((await run('--check', urlOf(database))).code).toBe(0);
  });

  it('a service with DB_LAYOUT=check refuses to start, naming what differs, and changes nothing', async () => {
    const database = uniqueName('layout');
    made.push(database);
    const child = spawnInstance(stack, 'config-service', 24477, {
      MONGO_URL: urlOf(database),
      DB_LAYOUT: 'check',
      LOG_LEVEL: 'info',
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(child.output()).toContain('database layout not as planned');
    expect(child.output()).toContain('use_cases.integration_slug: missing');
    expect(child.output()).toContain('npm run db -- --apply');
    expect(child.output()).toContain('config-service failed to start');
    expect(await indexNames(database, 'use_cases').catch(() => [])).not.toContain('integration_slug');
  }, 90_000);
});
