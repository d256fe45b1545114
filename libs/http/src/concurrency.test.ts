import { describe, expect, it } from 'vitest';
import { PerKeyConcurrency } from './concurrency.js';
import { ApiError } from './errors.js';

describe('PerKeyConcurrency', () => {
  it('refuses one more than the limit per key with 429, and counts each key apart', async () => {
    const gate = new PerKeyConcurrency(2, 'monitoring aggregations');
    const release: Array<() => void> = [];
    const held = () => new Promise<string>((resolve) => release.push(() => resolve('done')));
    const a1 = gate.run('org-a', held);
    const a2 = gate.run('org-a', held);
    const refused = await gate.run('org-a', held).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      statusCode: 429,
      code: 'TOO_MANY_CONCURRENT_REQUESTS',
      message:
        '2 monitoring aggregations of this organisation are running (at most 2 at once); retry when one has answered',
    });
    // Another organisation is not held back by org-a's load.
    const b = gate.run('org-b', async () => 'b');
    expect(await b).toBe('b');
    for (const r of release.splice(0)) r();
    expect(await Promise.all([a1, a2])).toEqual(['done', 'done']);
    expect(gate.running('org-a')).toBe(0);
  });

  it('frees the slot when the operation fails', async () => {
    const gate = new PerKeyConcurrency(1, 'queries');
    await expect(gate.run('org', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run('org', async () => 'again')).toBe('again');
  });
});
