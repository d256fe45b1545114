import { describe, expect, it } from 'vitest';
import { slugify, uniqueSlug } from './slug.js';

describe('slugs', () => {
  it('derives a slug from a name', () => {
    expect(slugify('Customer Sync')).toBe('customer-sync');
    expect(slugify('  Zähler / Stände (SAP)  ')).toBe('zahler-stande-sap');
    expect(slugify('!!!')).toBe('use-case');
  });

  it('makes it unique within the integration', () => {
    expect(uniqueSlug('customer-sync', new Set())).toBe('customer-sync');
    expect(uniqueSlug('customer-sync', new Set(['customer-sync', 'customer-sync-2']))).toBe(
      'customer-sync-3',
    );
  });
});
