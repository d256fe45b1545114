import { type FailureContext, makeFailure, UpdateFailure } from './compiled.js';

/**
 * How large one event's mapping output may be (issue 19, item 4), in bytes of its JSON text: an entity
 * update is one document in the database (MongoDB refuses more than 16 MiB) and one record on the
 * entity-updates topic (32 MiB a batch); every update of an event goes out in one produce request.
 */
export interface OutputLimits {
  /** One entity update, meter reading or prune scope (`MAPPING_MAX_UPDATE_BYTES`). */
  maxUpdateBytes: number;
  /** All the updates of one event together (`MAPPING_MAX_EVENT_BYTES`). */
  maxEventBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  maxUpdateBytes: 4 * 1024 * 1024,
  maxEventBytes: 16 * 1024 * 1024,
};

const utf8 = new TextEncoder();
const stringBytes = (s: string) =>
  // Exact for short strings; a long one is counted at one byte per UTF-16 unit (a lower bound) to stay cheap.
  s.length <= 4096 ? utf8.encode(s).length + 2 : s.length + 2;

/**
 * Bytes of `value` as JSON text (UTF-8, escapes not counted), counted only until the total passes `cap`:
 * a value of gigabytes is not walked to its end, and nothing is serialised.
 */
export function jsonSize(value: unknown, cap = Number.POSITIVE_INFINITY): number {
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && total <= cap) {
    const v = stack.pop();
    if (typeof v === 'string') total += stringBytes(v);
    else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
      total += String(v).length;
    else if (v === null || v === undefined) total += 4;
    else if (v instanceof Date) total += 26;
    else if (Array.isArray(v)) {
      total += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      total += 2;
      for (const [k, item] of Object.entries(v)) {
        total += stringBytes(k) + 2;
        stack.push(item);
      }
    }
  }
  return total;
}

/** Counts the updates of one event against `OutputLimits`. */
export class OutputBudget {
  private used = 0;

  constructor(private readonly limits: OutputLimits = DEFAULT_OUTPUT_LIMITS) {}

  /**
   * Takes one update into the event's output, or throws UpdateFailure `MAPPING_OUTPUT_TOO_LARGE` naming the
   * limit it passes (the update is dropped; its siblings go on, as with any failed update). The message
   * says sizes, never the values.
   */
  take(update: unknown, ctx: FailureContext, what = 'update'): void {
    const { maxUpdateBytes, maxEventBytes } = this.limits;
    const size = jsonSize(update, Math.min(maxUpdateBytes, maxEventBytes - this.used));
    if (size > maxUpdateBytes) {
      throw new UpdateFailure(
        makeFailure(
          ctx,
          'MAPPING_OUTPUT_TOO_LARGE',
          undefined,
          `this ${what} is larger than the limit of one update (MAPPING_MAX_UPDATE_BYTES, ${maxUpdateBytes} bytes of JSON); it was dropped`,
        ),
      );
    }
    if (this.used + size > maxEventBytes) {
      throw new UpdateFailure(
        makeFailure(
          ctx,
          'MAPPING_OUTPUT_TOO_LARGE',
          undefined,
          `with this ${what} the event's mapping output passes its limit (MAPPING_MAX_EVENT_BYTES, ${maxEventBytes} bytes of JSON); it was dropped`,
        ),
      );
    }
    this.used += size;
  }
}
