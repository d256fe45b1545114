// A fix, at our side, for a defect of kafkajs 2.2.4 (tulios/kafkajs#1704, #1751; open upstream, no release).
//
// Each broker connection has a RequestQueue. After every response it calls `checkPendingRequests`, which
// ends by scheduling itself again with `setTimeout(…, throttledUntil - Date.now())`. With nothing pending
// and no throttle, `throttledUntil` is -1, so the delay is minus the epoch in milliseconds: Node turns it
// into 1 ms, so every connection of every service re-checks an empty queue about a thousand times a second
// for as long as it lives, and Node 24+ (the images run 26) prints `TimeoutNegativeWarning` from each
// service. The fix: with nothing pending and no throttle there is nothing to check later, so no timer;
// every other case (requests waiting, or a broker-requested throttle) goes to kafkajs' own scheduling.
// A request pushed later is sent at once or, when it has to wait, schedules its own check (kafkajs' `push`).
// Applied by client.ts when this library loads, before any connection exists.
import { createRequire } from 'node:module';

/** The part of kafkajs' internal RequestQueue this fix reads and wraps. */
export interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: unknown;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const FIXED = Symbol.for('hub.kafka.requestQueueFixed');

/** kafkajs' RequestQueue class (not exported by the package: its own module inside it). */
export function requestQueueClass(): new (
  options: Record<string, unknown>,
) => RequestQueueInternals & { destroy(): void } {
  // The same module instance kafkajs' connections use (kafkajs is CommonJS: one cache entry per file).
  return createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js');
}

/** Applies the fix once per process; throws when kafkajs no longer has the shape it was written for. */
export function fixRequestQueueScheduling(): void {
  const proto = requestQueueClass().prototype as RequestQueueInternals & { [FIXED]?: true };
  if (proto[FIXED]) return;
  const original = proto.scheduleCheckPendingRequests;
  if (typeof original !== 'function' || typeof proto.checkPendingRequests !== 'function') {
    throw new Error(
      'kafkajs RequestQueue no longer has scheduleCheckPendingRequests: review libs/kafka/src/request-queue.ts ' +
        'against the kafkajs version in package.json (the fix may be upstream now)',
    );
  }
  proto.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    original.call(this);
  };
  proto[FIXED] = true;
}
