import { describe, expect, it } from 'vitest';
import { entityIdFor, keySetOf, refKey } from './keys.js';

describe('derived entity ids', () => {
  it('are the same for the same organisation, schema and unique-id values, in any key order', () => {
    const a = entityIdFor('org', 'contact', { customer_number: 'C1', region: 'N' });
    expect(entityIdFor('org', 'contact', { region: 'N', customer_number: 'C1' })).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differ by organisation, schema, value, value type and generation', () => {
    const base = entityIdFor('org', 'contact', { customer_number: 'C1' });
    for (const other of [
      entityIdFor('other-org', 'contact', { customer_number: 'C1' }),
      entityIdFor('org', 'account', { customer_number: 'C1' }),
      entityIdFor('org', 'contact', { customer_number: 'C2' }),
      entityIdFor('org', 'contact', { customer_number: 1 }),
      entityIdFor('org', 'contact', { customer_number: 'C1' }, 1),
    ]) {
      expect(other).not.toBe(base);
    }
  });

  it('count an email or phone unique id by its nested value, as the lookup does', () => {
    expect(refKey({ email: [{ email: 'a@b.c', _tags: ['work'] }] })).toBe(
      refKey({ email: [{ email: 'a@b.c' }] }),
    );
    expect(entityIdFor('org', 'contact', { email: [{ email: 'a@b.c', _tags: ['x'] }] })).toBe(
      entityIdFor('org', 'contact', { email: [{ email: 'a@b.c' }] }),
    );
  });

  it('record the names of the unique ids as a key set', () => {
    expect(keySetOf({ b: 1, a: 2 })).toBe(keySetOf({ a: 3, b: 4 }));
    expect(keySetOf({ a: 1 })).not.toBe(keySetOf({ b: 1 }));
  });
});
