import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TopicContract } from './asyncapi.js';

/** The committed snapshots of the published schemas: libs/contracts/schemas/<topic>.v<N>.json. */
export const SNAPSHOT_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));

/** Every snapshot in `dir`, by file name. */
export function readSnapshots(dir: string = SNAPSHOT_DIR): Map<string, TopicContract> {
  const out = new Map<string, TopicContract>();
  for (const file of readdirSync(dir)
    .filter((f) => /\.v\d+\.json$/.test(f))
    .sort()) {
    const where = path.join(dir, file);
    let parsed: TopicContract;
    try {
      parsed = JSON.parse(readFileSync(where, 'utf8')) as TopicContract;
    } catch (err) {
      throw new Error(`${where}: not JSON (${(err as Error).message})`);
    }
    if (`${parsed.topic}.v${parsed.version}.json` !== file) {
      throw new Error(`${where}: holds ${parsed.topic} v${parsed.version}, which belongs in another file`);
    }
    out.set(file, parsed);
  }
  return out;
}
