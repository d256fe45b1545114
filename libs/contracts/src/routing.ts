import type { UseCaseRecord } from './domain.js';
import type { RoutedBy } from './messages.js';

export interface RouteTarget {
  /** v3 `use_case_slug`. */
  useCaseSlug?: string;
  /** v3 `event_name`, v1/v2 `object_type`. */
  eventName?: string;
}

/**
 * Decision 5 of API_SCOPE.md: `use_case_slug`, else the event name matched against use-case slug, then
 * name (case-insensitive), else the integration's only enabled inbound use case. Only enabled inbound
 * use cases are candidates. `undefined` means the event is `ignored`.
 */
export function routeEvent(
  useCases: readonly UseCaseRecord[],
  target: RouteTarget,
): { useCase: UseCaseRecord; routedBy: RoutedBy } | undefined {
  const candidates = useCases.filter((u) => u.type === 'inbound' && u.enabled);
  if (target.useCaseSlug !== undefined) {
    const bySlug = candidates.find((u) => u.slug === target.useCaseSlug);
    return bySlug ? { useCase: bySlug, routedBy: 'use_case_slug' } : undefined;
  }
  if (target.eventName) {
    const wanted = target.eventName.toLowerCase();
    const bySlug = candidates.find((u) => u.slug.toLowerCase() === wanted);
    if (bySlug) return { useCase: bySlug, routedBy: 'slug' };
    const byName = candidates.find((u) => u.name.toLowerCase() === wanted);
    if (byName) return { useCase: byName, routedBy: 'name' };
  }
  if (candidates.length === 1) return { useCase: candidates[0]!, routedBy: 'single_inbound_use_case' };
  return undefined;
}
