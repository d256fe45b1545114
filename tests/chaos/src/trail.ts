import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** One copy of a processed message, as the run read it back. */
export interface Copy {
  changeId: string;
  partition: number;
  offset: string;
  /** The Kafka record's timestamp (ms): when the producer made the record. */
  timestamp: number;
  /** `meta.processed_at`: when the writer built the message. */
  processedAt: string;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/**
 * Where the copies of changes published more than once are: partition, offset, when each record was
 * made and when its message was built. Two `processed_at`s mean two writer calls built it; one means the
 * same message was sent twice.
 */
export function copiesOf(
  copies: readonly Copy[],
  max = 3,
): { lines: string[]; ids: string[]; from: number; to: number } {
  const byChange = new Map<string, Copy[]>();
  for (const c of copies) byChange.set(c.changeId, [...(byChange.get(c.changeId) ?? []), c]);
  const lines: string[] = [];
  const ids: string[] = [];
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const [changeId, list] of byChange) {
    const distinct = new Map(list.map((c) => [`${c.partition}@${c.offset}`, c]));
    if (distinct.size < 2) continue;
    for (const c of distinct.values()) {
      from = Math.min(from, c.timestamp);
      to = Math.max(to, c.timestamp);
    }
    if (lines.length >= max) continue;
    ids.push(changeId);
    const where = [...distinct.values()]
      .map(
        (c) =>
          `p${c.partition}@${c.offset} record ${clock(c.timestamp)} built ${c.processedAt.slice(11, 23)}`,
      )
      .join(', ');
    lines.push(`${changeId}: ${where}`);
  }
  return { lines, ids, from, to };
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * What the services logged at warn or above between `from` and `to` (ms), and any line naming one of
 * `ids`: the clues a failed run leaves in its output (CI keeps no log files). Repeated messages of one
 * instance are counted, not repeated.
 */
export function logTrail(
  logDir: string,
  from: number,
  to: number,
  ids: readonly string[],
  max = 60,
): string[] {
  let files: string[];
  try {
    files = readdirSync(logDir).filter((f) => f.endsWith('.log') && !/^(kafka|ferretdb|edge)/.test(f));
  } catch {
    return [];
  }
  const picked: Array<{ time: number; text: string }> = [];
  for (const file of files) {
    const instance = file.replace(/\.log$/, '');
    const repeats = new Map<string, { time: number; count: number }>();
    for (const raw of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      if (!raw.startsWith('{')) continue;
      let entry: {
        time?: number | string;
        level?: number | string;
        msg?: string;
        err?: { message?: string };
        error?: unknown;
      };
      try {
        entry = JSON.parse(raw);
      } catch {
        continue;
      }
      // pino writes the time as a number or (our services' loggers) an ISO string, the level likewise.
      const time = typeof entry.time === 'string' ? Date.parse(entry.time) : (entry.time ?? 0);
      const level = typeof entry.level === 'string' ? (LEVELS[entry.level] ?? 0) : (entry.level ?? 0);
      const named = ids.some((id) => raw.includes(id));
      if (!named && (time < from || time > to || level < 40)) continue;
      // kafkajs's lines carry their error as a string (`error`), ours as an object (`err`).
      const detail = entry.err?.message ?? (typeof entry.error === 'string' ? entry.error : undefined);
      const text = `${instance} ${entry.msg ?? ''}${detail ? `: ${detail.slice(0, 160)}` : ''}`;
      const seen = repeats.get(text);
      if (seen && !named) {
        seen.count++;
        continue;
      }
      repeats.set(text, { time, count: 1 });
    }
    for (const [text, { time, count }] of repeats) {
      picked.push({ time, text: count > 1 ? `${text} (×${count})` : text });
    }
  }
  picked.sort((a, b) => a.time - b.time);
  const shown = picked.slice(0, max).map((p) => `${clock(p.time)} ${p.text}`);
  if (picked.length > max) shown.push(`… ${picked.length - max} more lines in ${logDir}`);
  return shown;
}
