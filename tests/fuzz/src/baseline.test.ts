import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const baseline = JSON.parse(readFileSync(path.join(import.meta.dirname, '../baseline.json'), 'utf8')) as {
  entries: Array<{ operation: string; check: string; why?: string }>;
};

describe('the fuzzer baseline', () => {
  it('says for every accepted finding why it is a deliberate difference', () => {
    expect(baseline.entries.length).toBeGreaterThan(0);
    for (const entry of baseline.entries) {
      expect(entry.why?.length ?? 0, `${entry.operation} ${entry.check}`).toBeGreaterThan(20);
    }
  });

  it('accepts no server error, schema violation of our answers or undeclared status', () => {
    const never = [
      'not_a_server_error',
      'response_schema_conformance',
      'status_code_conformance',
      'unsupported_method',
    ];
    expect(baseline.entries.filter((e) => never.includes(e.check))).toEqual([]);
  });
});
