/**
 * The local FerretDB bounds SQLite's write-ahead logs (deploy/local/ferretdb/main.go, ADR 8). Under constant
 * load some reader always holds an older snapshot, so SQLite's own checkpoints never reset the log and it
 * grows with everything written (2.4 GB in the benchmark's history step). Two servers of our build, each on
 * its own port and directory, take the same load with a reader that never stops: the one with the guard
 * switched off keeps every megabyte in its log; the guarded one brings its log back under the limit.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { eventually } from '@hub/testing';
import { afterAll, describe, expect, it } from 'vitest';

const onFerretdb = process.env.HUB_INFRA !== 'containers';
const MB = 1 << 20;
const started: Array<{ child: ChildProcess; dir: string; store?: MongoStore }> = [];

afterAll(async () => {
  for (const s of started) {
    await s.store?.close();
    s.child.kill('SIGTERM');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Our FerretDB build (the stack's cache) on a port and directory of its own, with these flags. */
async function server(flags: string[]) {
  const { ferretdbBinary } = await import('../../../deploy/local/stack.mjs');
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-wal-'));
  const port = await freePort();
  const child = spawn(ferretdbBinary(), ['-listen', `127.0.0.1:${port}`, '-dir', dir, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const entry: (typeof started)[number] = { child, dir };
  started.push(entry);
  entry.store = await eventually(
    () =>
      MongoStore.connect({
        url: `mongodb://127.0.0.1:${port}/`,
        database: 'wal',
        logger: createLogger({ service: 'test', level: 'silent' }),
        appName: 'ferretdb-wal-test',
      }),
    30_000,
    'FerretDB to answer',
  );
  const walBytes = () => {
    try {
      return statSync(path.join(dir, 'wal.sqlite-wal')).size;
    } catch {
      return 0;
    }
  };
  return { store: entry.store, walBytes, log: () => log };
}

/** Writes ~`mb` MB in small inserts while another connection reads the collection without pause. */
async function loadWithConstantReader(store: MongoStore, mb: number) {
  const col = store.collection<{ _id: string; pad: string }>('docs');
  const pad = 'x'.repeat(2_000);
  let reading = true;
  const reader = (async () => {
    // After a failed assertion the store closes under it: the reader's last read may fail then.
    while (reading)
      await col
        .find({ pad: 'never' })
        .toArray()
        .catch(() => undefined);
  })();
  const perInsert = 50;
  const inserts = Math.ceil((mb * MB) / (perInsert * pad.length));
  for (let i = 0; i < inserts; i++) {
    await col.insertMany(Array.from({ length: perInsert }, (_, k) => ({ _id: `d${i}-${k}`, pad })));
  }
  return async () => {
    reading = false;
    await reader;
  };
}

describe('FerretDB write-ahead log', () => {
  it('is checkpointed back under its limit while a reader never stops; without the guard it keeps growing', async (ctx) => {
    if (!onFerretdb) ctx.skip();
    const unguarded = await server(['-wal-limit-mb', '0']);
    const guarded = await server(['-wal-limit-mb', '4', '-wal-check', '200ms']);

    const stopUnguarded = await loadWithConstantReader(unguarded.store, 16);
    const stopGuarded = await loadWithConstantReader(guarded.store, 16);

    // The guarded log returns under its limit with the reader still reading; the other holds what was written.
    await eventually(
      async () => (guarded.walBytes() <= 4 * MB ? true : undefined),
      30_000,
      'a truncated WAL',
    );
    expect(unguarded.walBytes()).toBeGreaterThan(12 * MB);
    expect(guarded.log()).toMatch(/WAL guard: wal\.sqlite: WAL \d+ MB -> 0 MB/);
    await Promise.all([stopUnguarded(), stopGuarded()]);
  }, 180_000);
});
