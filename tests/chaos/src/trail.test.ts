import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copiesOf, logTrail } from './trail.js';

const at = (s: string) => Date.parse(`2026-12-08T00:42:${s}Z`);

describe('the trail a duplicate leaves', () => {
  it('names each copy of a change published twice, and only those', () => {
    const copy = (changeId: string, offset: string, s: string) => ({
      changeId,
      partition: 3,
      offset,
      timestamp: at(s),
      processedAt: new Date(at(s)).toISOString(),
    });
    const { lines, ids, from, to } = copiesOf([
      copy('evt_A:0', '10', '10.000'),
      copy('evt_B:0', '11', '10.500'),
      copy('evt_A:0', '40', '30.000'),
      copy('evt_A:0', '40', '30.000'), // the same record read twice is not a copy
    ]);
    expect(ids).toEqual(['evt_A:0']);
    expect(lines).toEqual([
      'evt_A:0: p3@10 record 00:42:10.000 built 00:42:10.000, p3@40 record 00:42:30.000 built 00:42:30.000',
    ]);
    expect([from, to]).toEqual([at('10.000'), at('30.000')]);
  });

  it('keeps warnings of the window and lines naming the changes, counting repeats', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trail-'));
    const line = (s: string, level: number, msg: string, extra = {}) =>
      JSON.stringify({ time: at(s), level, msg, ...extra });
    writeFileSync(
      path.join(dir, 'entity-writer-0.log'),
      [
        line('01.000', 40, 'too early'),
        line('11.000', 30, 'quiet info'),
        line('12.000', 40, 'Connection error', { err: { message: 'ECONNREFUSED' } }),
        line('12.500', 40, 'Connection error', { err: { message: 'ECONNREFUSED' } }),
        line('13.000', 30, 'sending them now', { changeIds: ['evt_A:0'] }),
        JSON.stringify({
          time: new Date(at('14.000')).toISOString(),
          level: 'warn',
          msg: 'Response Heartbeat(key: 12, version: 3)',
          error: 'The group is rebalancing, so a rejoin is needed',
        }),
        'not json',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'kafka-0.log'), line('12.000', 50, 'broker noise'));
    expect(logTrail(dir, at('10.000'), at('20.000'), ['evt_A:0'])).toEqual([
      '00:42:12.000 entity-writer-0 Connection error: ECONNREFUSED (×2)',
      '00:42:13.000 entity-writer-0 sending them now',
      '00:42:14.000 entity-writer-0 Response Heartbeat(key: 12, version: 3): The group is rebalancing, so a rejoin is needed',
    ]);
  });
});
