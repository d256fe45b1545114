import { describe, expect, it } from 'vitest';
import { berlinDay, readingMatch } from './reading-rules.js';

describe('berlinDay', () => {
  it.each([
    ['2025-01-15T22:59:59.000Z', '2025-01-15'], // 23:59:59 CET
    ['2025-01-15T23:00:00.000Z', '2025-01-16'], // midnight CET
    ['2025-07-15T21:59:00.000Z', '2025-07-15'], // 23:59 CEST
    ['2025-07-15T22:00:00.000Z', '2025-07-16'], // midnight CEST
  ])('%s is on %s in Berlin', (timestamp, day) => {
    expect(berlinDay(timestamp)).toBe(day);
  });

  it('is undefined for anything but a timestamp', () => {
    expect(berlinDay('15.01.2025')).toBeUndefined();
    expect(berlinDay(1736899200000)).toBeUndefined();
  });
});

describe('readingMatch', () => {
  const reading = {
    meterId: 'm1',
    counterId: 'c1',
    attributes: { external_id: 'R1', timestamp: '2025-01-15T23:30:00.000Z', direction: 'feed-in' },
  };

  it('matches by meter and external id by default', () => {
    expect(readingMatch('o', 'external_id', reading)).toEqual({
      filter: { _org: 'o', meter_id: 'm1', external_id: 'R1' },
      createKey: '["external_id","o","m1","R1"]',
    });
  });

  it('matches strict-date by meter, counter, direction and Berlin day', () => {
    expect(readingMatch('o', 'strict-date', reading)).toEqual({
      filter: { _org: 'o', meter_id: 'm1', counter_id: 'c1', direction: 'feed-in', berlin_day: '2025-01-16' },
      createKey: '["strict-date","o","m1","c1","feed-in","2025-01-16"]',
    });
  });

  it('names what is missing', () => {
    expect(readingMatch('o', 'external_id', { ...reading, attributes: {} })).toBe('external_id is empty');
    expect(readingMatch('o', 'strict-date', { ...reading, attributes: { timestamp: 'yesterday' } })).toBe(
      'timestamp "yesterday" is not an ISO date-time',
    );
  });

  it('refuses a direction or an external id that is not a plain value, before it reaches a filter', () => {
    const withAttributes = (attributes: Record<string, unknown>) => ({ ...reading, attributes });
    const ts = reading.attributes.timestamp;
    expect(
      readingMatch('o', 'strict-date', withAttributes({ timestamp: ts, direction: { $ne: null } })),
    ).toBe('direction must be a string, not {"$ne":null}');
    expect(readingMatch('o', 'external_id', withAttributes({ external_id: { $gt: '' } }))).toBe(
      'external_id must be a string or a number, not {"$gt":""}',
    );
    expect(readingMatch('o', 'external_id', withAttributes({ external_id: 7 }))).toMatchObject({
      filter: { external_id: 7 },
    });
  });
});
