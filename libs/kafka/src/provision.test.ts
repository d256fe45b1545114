import { describe, expect, it } from 'vitest';
import { runTopicsCommand } from './provision.js';

describe('runTopicsCommand', () => {
  it('refuses invalid settings before it connects, listing every problem', async () => {
    const lines: string[] = [];
    const code = await runTopicsCommand('apply', { KAFKA_TOPIC_PARTITIONS: 'zero' }, (l) => lines.push(l));
    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/KAFKA_BROKERS: required but not set/);
    expect(lines.join('\n')).toMatch(/KAFKA_TOPIC_PARTITIONS/);
  });
});
