// What the database was asked to do per processed event, counted at the wire by the counting proxy
// between the services and FerretDB (`MongoCountingProxy` of @hub/testing): commands and documents
// written, per collection and in total (issue 22). Pure: the proxy counts, this divides and prints.
import { type CommandTiming, commandsOf, OVERHEAD_COMMANDS, type WireCounts, written } from '@hub/testing';
import { type LatencySummary, summarise } from './stats.js';

export interface CollectionWork {
  /** `<db>.<collection>`. */
  collection: string;
  /** Commands sent (handshakes and heartbeats left out), by name. */
  commands: Record<string, number>;
  /** Write statements sent (insert documents, update/delete statements). */
  statements: number;
  /** Documents written as the server reported them: inserted + modified + upserted + deleted. */
  written: number;
  inserted: number;
  modified: number;
  upserted: number;
  deleted: number;
}

export interface DatabaseWork {
  /** The processed events the counts are divided by. */
  events: number;
  /** Per collection, most documents written first. */
  collections: CollectionWork[];
  /** Commands in total (handshakes and heartbeats left out) and the left-out ones. */
  commands: number;
  overheadCommands: number;
  statements: number;
  written: number;
  /** Per processed event. */
  documentsPerEvent: number;
  commandsPerEvent: number;
  /** By client (`appName`: the services name themselves): commands and documents written. */
  clients: Record<string, { commands: number; written: number }>;
  /** Messages the proxy could not look into or read: the counts are incomplete unless both are 0. */
  opaque: number;
  unreadable: number;
}

/**
 * The work of `counts` (what passed between two readings) per processed event. Collections of other
 * databases than `database` (the raw ceiling's, admin commands) are left out. The per-event figures are
 * NaN when there were no events or the proxy missed messages: a figure that cannot be trusted is missing.
 */
export function databaseWork(counts: WireCounts, events: number, database = 'erp_hub'): DatabaseWork {
  const collections: CollectionWork[] = [];
  let overheadCommands = 0;
  for (const [key, c] of Object.entries(counts.collections)) {
    overheadCommands += commandsOf(c, true) - commandsOf(c);
    if (!key.startsWith(`${database}.`)) continue;
    const commands = Object.fromEntries(
      Object.entries(c.commands).filter(([name]) => !OVERHEAD_COMMANDS.has(name)),
    );
    if (Object.keys(commands).length === 0 && written(c) === 0) continue;
    collections.push({
      collection: key,
      commands,
      statements: c.statements,
      written: written(c),
      inserted: c.inserted,
      modified: c.modified,
      upserted: c.upserted,
      deleted: c.deleted,
    });
  }
  collections.sort((a, b) => b.written - a.written || a.collection.localeCompare(b.collection));
  const sum = (f: (c: CollectionWork) => number) => collections.reduce((s, c) => s + f(c), 0);
  const commands = sum((c) => Object.values(c.commands).reduce((s, n) => s + n, 0));
  const total = sum((c) => c.written);
  const trusted = events > 0 && counts.opaque === 0 && counts.unreadable === 0;
  return {
    events,
    collections,
    commands,
    overheadCommands,
    statements: sum((c) => c.statements),
    written: total,
    documentsPerEvent: trusted ? total / events : Number.NaN,
    commandsPerEvent: trusted ? commands / events : Number.NaN,
    clients: counts.clients,
    opaque: counts.opaque,
    unreadable: counts.unreadable,
  };
}

/** Documents and commands per second a database-only run achieved (the raw ceiling through the proxy). */
export function databaseRates(
  counts: WireCounts,
  ms: number,
  database: string,
): { documentsPerSecond: number; commandsPerSecond: number; written: number; commands: number } {
  const work = databaseWork(counts, 1, database);
  return {
    written: work.written,
    commands: work.commands,
    documentsPerSecond: ms > 0 ? (work.written * 1000) / ms : Number.NaN,
    commandsPerSecond: ms > 0 ? (work.commands * 1000) / ms : Number.NaN,
  };
}

const per = (n: number, events: number) => (events > 0 ? (n / events).toFixed(3) : '?');

/** Lines for below the table: per collection, per event, what was sent and written. */
export function describeWork(label: string, work: DatabaseWork): string[] {
  const lines = [
    `${label}: ${work.written.toLocaleString('en-US')} documents written and ${work.commands.toLocaleString('en-US')} commands ` +
      `(${work.statements.toLocaleString('en-US')} write statements; ${work.overheadCommands} handshakes/heartbeats left out) ` +
      `for ${work.events.toLocaleString('en-US')} processed events, counted at the wire:`,
  ];
  for (const c of work.collections) {
    const commands = Object.entries(c.commands)
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${per(n, work.events)}`)
      .join(', ');
    const kinds = (
      [
        ['inserted', c.inserted],
        ['modified', c.modified],
        ['upserted', c.upserted],
        ['deleted', c.deleted],
      ] as const
    )
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${per(n, work.events)}`)
      .join(', ');
    lines.push(
      `  ${c.collection.padEnd(32)} written/event ${per(c.written, work.events)}${kinds ? ` (${kinds})` : ''}; commands/event: ${commands || '0'}`,
    );
  }
  const clients = Object.entries(work.clients)
    .map(
      ([app, c]) =>
        `${app} ${per(c.commands, work.events)} commands, ${per(c.written, work.events)} documents`,
    )
    .join('; ');
  if (clients) lines.push(`  per event by client: ${clients}`);
  if (work.opaque > 0 || work.unreadable > 0) {
    lines.push(`  INCOMPLETE: ${work.opaque} messages not looked into, ${work.unreadable} unreadable`);
  }
  return lines;
}

/** Round trips of one command of one client in one collection (`CommandTiming`s summarised). */
export interface CommandLatency extends LatencySummary {
  app: string;
  collection: string;
  command: string;
  /** Milliseconds in all of them together. */
  totalMs: number;
}

/**
 * The database's round trips by client, collection and command (issue 22: how long the services wait
 * for it), the most total time first.
 */
export function databaseLatency(timings: readonly CommandTiming[]): CommandLatency[] {
  const groups = new Map<string, CommandTiming[]>();
  for (const t of timings) {
    const id = `${t.app}\u0000${t.key}\u0000${t.command}`;
    const list = groups.get(id) ?? [];
    list.push(t);
    groups.set(id, list);
  }
  return [...groups.values()]
    .map((list) => ({
      app: list[0]!.app,
      collection: list[0]!.key,
      command: list[0]!.command,
      totalMs: list.reduce((s, t) => s + t.ms, 0),
      ...summarise(list.map((t) => t.ms)),
    }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

/** Lines for below the table: the round trips that took the most time in all. */
export function describeLatency(label: string, latency: readonly CommandLatency[], top = 8): string[] {
  if (latency.length === 0) return [];
  return [
    `${label}: database round trips (through the counting proxy) by client, collection and command, most time first:`,
    ...latency
      .slice(0, top)
      .map(
        (l) =>
          `  ${`${l.app} ${l.collection.replace(/^[^.]*\./, '')} ${l.command}`.padEnd(48)} ${String(l.count).padStart(6)}× p50 ${l.p50Ms.toFixed(1)} p99 ${l.p99Ms.toFixed(1)} max ${l.maxMs.toFixed(1)} ms`,
      ),
  ];
}
