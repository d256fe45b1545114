import { describe, expect, it } from 'vitest';
import { CONTAINER_BYTES, decodedOverhead, heldBytes, jsonBytes, VALUE_BYTES } from './held-bytes.js';

describe('heldBytes', () => {
  it('adds a slot per value and a header per object or array to the bytes of JSON', () => {
    expect(heldBytes('abc')).toBe(5 + VALUE_BYTES);
    expect(heldBytes({ a: [1, null] })).toBe(
      jsonBytes({ a: [1, null] }) + 4 * VALUE_BYTES + 2 * CONTAINER_BYTES,
    );
    expect(heldBytes({ a: undefined })).toBe(2 + VALUE_BYTES + CONTAINER_BYTES); // dropped, as JSON drops it
  });

  it('counts a document of empty objects by what it costs, not by its few bytes of JSON', () => {
    const empties = Array.from({ length: 1000 }, () => ({}));
    expect(jsonBytes(empties)).toBe(3001);
    expect(heldBytes(empties)).toBeGreaterThan(50 * 1000);
  });

  it('is additive: a list with one more entry grows by that entry, its comma and nothing else', () => {
    const entry = { attribute: 'x', field: ['a', 'b'] };
    const list = [{ attribute: 'y' }];
    expect(heldBytes([...list, entry]) - heldBytes(list)).toBe(heldBytes(entry) + 1);
    expect(decodedOverhead([...list, entry]) - decodedOverhead(list)).toBe(decodedOverhead(entry));
  });
});
