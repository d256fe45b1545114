const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Normalises a meter-reading timestamp to an ISO 8601 UTC string (`2025-01-15T10:00:00.000Z`).
 * Accepted: `YYYY-MM-DD` (midnight UTC) and `YYYY-MM-DDTHH:mm:ss` with optional fractional seconds and an
 * optional `Z` / `±HH:mm` offset (no offset: UTC). Anything else (other formats, epoch numbers, impossible
 * dates such as 2025-02-30) returns undefined.
 */
export function normaliseTimestamp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const d = DATE_ONLY.exec(text);
  if (d) return build(+d[1]!, +d[2]!, +d[3]!, 0, 0, 0, 0, 0);
  const t = DATE_TIME.exec(text);
  if (!t) return undefined;
  const ms = t[7] ? Math.floor(Number(`0.${t[7]}`) * 1000) : 0;
  let offsetMinutes = 0;
  const zone = t[8];
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const hours = Number(zone.slice(1, 3));
    const minutes = Number(zone.slice(4, 6));
    if (hours > 23 || minutes > 59) return undefined;
    offsetMinutes = sign * (hours * 60 + minutes);
  }
  return build(+t[1]!, +t[2]!, +t[3]!, +t[4]!, +t[5]!, +t[6]!, ms, offsetMinutes);
}

function build(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
  offsetMinutes: number,
): string | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const local = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  if (local.getUTCFullYear() !== year || local.getUTCMonth() !== month - 1 || local.getUTCDate() !== day) {
    return undefined; // 2025-02-30 and friends
  }
  return new Date(local.getTime() - offsetMinutes * 60_000).toISOString();
}
