import { describe, expect, it } from 'vitest';
import { newEventId, ulid } from './ids.js';

describe('ids', () => {
  it('event ids are evt_ + 26 Crockford characters and sort by creation', () => {
    const ids = Array.from({ length: 2000 }, () => newEventId());
    for (const id of ids) expect(id).toMatch(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('encodes the creation time in its first ten characters', () => {
    const before = Date.now();
    const id = ulid();
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    const time = [...id.slice(0, 10)].reduce((t, c) => t * 32 + alphabet.indexOf(c), 0);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});
