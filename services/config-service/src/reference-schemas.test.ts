import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { extract, OUTPUT, REFERENCE, render } from '../scripts/reference-schemas.mjs';

describe('src/reference-schemas.ts', () => {
  it('is what scripts/reference-schemas.mjs makes of the reference document (run it when this fails)', () => {
    const expected = render(extract(JSON.parse(readFileSync(REFERENCE, 'utf8'))));
    expect(readFileSync(OUTPUT, 'utf8')).toBe(expected);
  });
});
