import type { CollectionCounts, WireCounts } from '@hub/testing';
import { describe, expect, it } from 'vitest';
import { databaseLatency, databaseRates, databaseWork, describeLatency, describeWork } from './database.js';

const collection = (c: Partial<CollectionCounts>): CollectionCounts => ({
  commands: {},
  statements: 0,
  inserted: 0,
  modified: 0,
  upserted: 0,
  deleted: 0,
  ...c,
});

const counts = (): WireCounts => ({
  collections: {
    'erp_hub.inbound_events': collection({ commands: { insert: 10 }, statements: 1000, inserted: 1000 }),
    'erp_hub.monitoring_events': collection({ commands: { insert: 20 }, statements: 3000, inserted: 2990 }),
    'erp_hub.entities': collection({
      commands: { find: 10, update: 10 },
      statements: 900,
      modified: 850,
      upserted: 50,
    }),
    'erp_hub.dedupe': collection({ commands: { delete: 1 }, statements: 1, deleted: 40 }),
    'erp_hub.': collection({ commands: { hello: 30, ping: 5 } }),
    'admin.': collection({ commands: { hello: 12 } }),
    'bench_raw.entities': collection({ commands: { insert: 3 }, statements: 300, inserted: 300 }),
  },
  clients: { 'ingest-gateway': { commands: 11, written: 1040 } },
  opaque: 0,
  unreadable: 0,
});

describe('databaseWork', () => {
  it("divides the service database's documents and commands by the processed events, per collection and in total", () => {
    const work = databaseWork(counts(), 1000);
    expect(work.collections.map((c) => [c.collection, c.written])).toEqual([
      ['erp_hub.monitoring_events', 2990],
      ['erp_hub.inbound_events', 1000],
      ['erp_hub.entities', 900],
      ['erp_hub.dedupe', 40],
    ]);
    expect(work.written).toBe(4930);
    expect(work.documentsPerEvent).toBeCloseTo(4.93, 10);
    // 10 + 20 + 20 + 1 commands; the 47 handshakes and heartbeats are counted apart, and the raw
    // ceiling's database is not the services'.
    expect(work.commands).toBe(51);
    expect(work.overheadCommands).toBe(47);
    expect(work.commandsPerEvent).toBeCloseTo(0.051, 10);
    expect(work.statements).toBe(4901);
  });

  it('gives no per-event figure when nothing was processed or the proxy missed messages', () => {
    expect(databaseWork(counts(), 0).documentsPerEvent).toBeNaN();
    const missed = { ...counts(), unreadable: 1 };
    expect(databaseWork(missed, 1000).commandsPerEvent).toBeNaN();
    expect(databaseWork({ ...counts(), opaque: 2 }, 1000).documentsPerEvent).toBeNaN();
    expect(describeWork('phase A', databaseWork(missed, 1000)).at(-1)).toContain('INCOMPLETE');
  });

  it("rates a database-only run's documents and commands per second", () => {
    expect(databaseRates(counts(), 2000, 'bench_raw')).toEqual({
      written: 300,
      commands: 3,
      documentsPerSecond: 150,
      commandsPerSecond: 1.5,
    });
  });

  it('prints one line per collection with its documents and commands per event', () => {
    const lines = describeWork('phase A', databaseWork(counts(), 1000));
    expect(lines[0]).toContain('4,930 documents written and 51 commands');
    expect(lines[1]).toMatch(
      /erp_hub\.monitoring_events +written\/event 2\.990 \(inserted 2\.990\); commands\/event: insert 0\.020/,
    );
    expect(lines.find((l) => l.includes('erp_hub.entities'))).toContain('(modified 0.850, upserted 0.050)');
    expect(lines.at(-1)).toBe('  per event by client: ingest-gateway 0.011 commands, 1.040 documents');
  });
});

describe('databaseLatency', () => {
  it('summarises the round trips by client, collection and command, the most time in all first', () => {
    const t = (app: string, command: string, ms: number) => ({
      at: 0,
      ms,
      app,
      key: 'erp_hub.entities',
      command,
    });
    const latency = databaseLatency([
      t('writer', 'find', 2),
      t('writer', 'update', 30),
      t('writer', 'find', 4),
      t('writer', 'update', 10),
    ]);
    expect(latency.map((l) => [l.command, l.count, l.totalMs, l.p50Ms, l.maxMs])).toEqual([
      ['update', 2, 40, 10, 30],
      ['find', 2, 6, 2, 4],
    ]);
    expect(describeLatency('phaseB', latency)[1]).toMatch(
      /^ {2}writer entities update +2× p50 10\.0 p99 30\.0 max 30\.0 ms$/,
    );
  });
});
