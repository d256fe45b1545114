import { describe, expect, it } from 'vitest';
import { compileExpression } from './expression.js';

describe('compileExpression', () => {
  it('gives back a payload object with a `__proto__` key as a key, setting no prototype', async () => {
    const payload = JSON.parse('{"customer":{"__proto__":{"vip":true},"name":"Ada"}}');
    const result = (await compileExpression('customer').evaluate(payload, payload)) as Record<
      string,
      unknown
    >;
    expect(Object.keys(result)).toEqual(['__proto__', 'name']);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(JSON.stringify(result)).toBe('{"__proto__":{"vip":true},"name":"Ada"}');
  });
});
