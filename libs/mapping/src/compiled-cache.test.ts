import { describe, expect, it } from 'vitest';
import { CompiledCache } from './compiled-cache.js';

describe('the compiled mappings a worker keeps', () => {
  it("never evicts another tenant's mapping: a tenant past its share or the total gives up its own", () => {
    const cache = new CompiledCache<string>({ perTenant: 3, total: 5 });
    cache.set('victim', 'v@1', 'V1');
    cache.set('victim', 'w@1', 'W1');
    for (let i = 0; i < 100; i++) cache.set('attacker', `a${i}@1`, `A${i}`);
    expect(cache.get('victim', 'v@1')).toBe('V1');
    expect(cache.get('victim', 'w@1')).toBe('W1');
    expect(cache.held('attacker')).toBe(3);
    expect(cache.get('attacker', 'a99@1')).toBe('A99');
    expect(cache.get('attacker', 'a0@1')).toBeUndefined();
    // Past the total, the tenant holding the most gives way, least recently used first.
    cache.set('third', 't@1', 'T1');
    expect(cache.entries).toBe(5);
    expect(cache.held('attacker')).toBe(2);
    expect(cache.get('attacker', 'a99@1')).toBe('A99');
    expect(cache.get('victim', 'v@1')).toBe('V1');
  });

  it('replaces the older revisions of a use case, and looks up only within the tenant', () => {
    const cache = new CompiledCache<string>({ perTenant: 3, total: 10 });
    cache.set('t', 'uc@1', 'one');
    cache.set('t', 'uc@2', 'two', (k) => k.startsWith('uc@'));
    expect(cache.get('t', 'uc@1')).toBeUndefined();
    expect(cache.get('t', 'uc@2')).toBe('two');
    expect(cache.get('other', 'uc@2')).toBeUndefined();
    expect(cache.entries).toBe(1);
  });
});
