/**
 * Meter-reading matching rules that need no database (MAPPING.md "Meter readings"): `external_id`
 * matches a reading of the same meter with the same external id; `strict-date` one of the same meter,
 * counter and direction on the same Europe/Berlin calendar day.
 */

const berlinDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/Berlin',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The Europe/Berlin calendar day (`YYYY-MM-DD`) of an ISO timestamp; undefined when it is not one. */
export function berlinDay(timestamp: unknown): string | undefined {
  if (typeof timestamp !== 'string') return undefined;
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? undefined : berlinDate.format(new Date(ms));
}

export type ReadingMatching = 'external_id' | 'strict-date';

export interface ReadingIdentity {
  meterId: string;
  counterId: string | null;
  attributes: Record<string, unknown>;
}

/**
 * What identifies the reading under the matching rule, as a filter on stored readings and as the
 * reading's create key (two concurrent creators of the same reading collide on it). A problem is a string.
 */
export function readingMatch(
  org: string,
  matching: ReadingMatching,
  r: ReadingIdentity,
): { filter: Record<string, unknown>; createKey: string } | string {
  const direction = r.attributes.direction ?? null;
  if (direction !== null && typeof direction !== 'string') {
    return `direction must be a string, not ${JSON.stringify(direction)}`;
  }
  if (matching === 'external_id') {
    const externalId = r.attributes.external_id;
    if (externalId == null || externalId === '') return 'external_id is empty';
    if (typeof externalId !== 'string' && typeof externalId !== 'number') {
      return `external_id must be a string or a number, not ${JSON.stringify(externalId)}`;
    }
    return {
      filter: { _org: org, meter_id: r.meterId, external_id: externalId },
      createKey: JSON.stringify(['external_id', org, r.meterId, externalId]),
    };
  }
  const day = berlinDay(r.attributes.timestamp);
  if (!day) return `timestamp ${JSON.stringify(r.attributes.timestamp)} is not an ISO date-time`;
  return {
    filter: { _org: org, meter_id: r.meterId, counter_id: r.counterId, direction, berlin_day: day },
    createKey: JSON.stringify(['strict-date', org, r.meterId, r.counterId, direction, day]),
  };
}
