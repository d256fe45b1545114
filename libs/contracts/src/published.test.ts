/**
 * The evolution guard, on every `npm test`: each public topic's current contract against its committed
 * snapshot in libs/contracts/schemas (`npm run contracts` runs the same check and, with `--update`, writes
 * the snapshots of additive changes and raised versions).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { topicContracts } from './asyncapi.js';
import { checkPublished } from './compatibility.js';
import { readSnapshots } from './snapshots.js';

describe('the published topic schemas', () => {
  it('change nothing a consumer relies on under the committed versions', () => {
    const changelog = readFileSync(new URL('../../../docs/processed-entities.md', import.meta.url), 'utf8');
    const result = checkPublished(topicContracts(), readSnapshots(), changelog);
    for (const notice of result.notices)
      console.warn(`${notice}\n  (npm run contracts -- --update records it)`);
    expect([...result.problems, ...result.pending]).toEqual([]);
  });

  it('are the public topics erp.entities.processed and erp.dead-letters, each with a committed snapshot', () => {
    const files = [...readSnapshots().keys()];
    for (const c of topicContracts().filter((t) => t.visibility === 'public')) {
      expect(files).toContain(`${c.topic}.v${c.version}.json`);
    }
    expect(
      topicContracts()
        .filter((t) => t.visibility === 'public')
        .map((t) => t.topic),
    ).toEqual(['erp.entities.processed', 'erp.dead-letters']);
  });
});
