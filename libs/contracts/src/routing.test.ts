import { describe, expect, it } from 'vitest';
import type { UseCaseRecord } from './domain.js';
import { routeEvent } from './routing.js';

const useCase = (over: Partial<UseCaseRecord>): UseCaseRecord => ({
  id: over.slug ?? 'id',
  integrationId: 'i',
  name: 'Name',
  slug: 'slug',
  type: 'inbound',
  enabled: true,
  created_at: '',
  updated_at: '',
  revision: 1,
  ...over,
});

describe('routeEvent (decision 5)', () => {
  const customer = useCase({ name: 'Customer Sync', slug: 'customer-sync' });
  const contract = useCase({ name: 'Contract', slug: 'contract' });

  it('prefers use_case_slug, and ignores when that slug is unknown', () => {
    expect(
      routeEvent([customer, contract], { useCaseSlug: 'contract', eventName: 'customer-sync' }),
    ).toMatchObject({
      useCase: contract,
      routedBy: 'use_case_slug',
    });
    expect(routeEvent([customer], { useCaseSlug: 'nope' })).toBeUndefined();
  });

  it('matches the event name against slug, then name, case-insensitively', () => {
    expect(routeEvent([customer, contract], { eventName: 'CONTRACT' })?.routedBy).toBe('slug');
    expect(routeEvent([customer, contract], { eventName: 'customer sync' })).toMatchObject({
      useCase: customer,
      routedBy: 'name',
    });
  });

  it('falls back to the only enabled inbound use case (the guide: object_type "customer")', () => {
    const outbound = useCase({ slug: 'out', type: 'outbound' });
    const disabled = useCase({ slug: 'off', enabled: false });
    expect(routeEvent([customer, outbound, disabled], { eventName: 'customer' })).toMatchObject({
      useCase: customer,
      routedBy: 'single_inbound_use_case',
    });
  });

  it('ignores when nothing matches and there are several candidates', () => {
    expect(routeEvent([customer, contract], { eventName: 'meter' })).toBeUndefined();
    expect(routeEvent([], { eventName: 'meter' })).toBeUndefined();
  });
});
