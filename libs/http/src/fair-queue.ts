import { ApiError } from './errors.js';

export interface FairQueueSettings {
  /** What the operations are, for the refusal's message ("monitoring aggregations"). */
  what: string;
  /** Operations of one key (an organisation) running at once; the key's others wait their turn. */
  runningPerKey: number;
  /** Operations running at once in all (this instance); keys are served in turn when it is reached. */
  runningTotal: number;
  /** Operations of one key waiting at most; one more is answered 429 at once, with `Retry-After`. */
  queuedPerKey: number;
  /**
   * Running time one key may use per window: a key that used `ms` (its operations' time from start to end,
   * the running ones' so far) in the last `windowMs` starts its next operation only once its use falls
   * under `ms` again, whether or not others wait. Bounds what one key's heavy operations take from a
   * resource they share with requests that do not pass through this queue (the database).
   */
  budget?: { ms: number; windowMs: number };
  /**
   * How long an operation may wait for its turn at most; past it, it is answered 429 with `Retry-After`
   * (`budgetCode` when its key is over its budget then, else `TOO_MANY_CONCURRENT_REQUESTS`) instead of
   * waiting on, so a client is never kept waiting without bound in time. Default: no limit.
   */
  maxWaitMs?: number;
  /** The code of the 429 for an operation that waited `maxWaitMs` while its key was over its budget. */
  budgetCode?: string;
}

interface Waiting {
  start: () => void;
  /** Ends the wait (started, or refused after `maxWaitMs`). */
  timer?: NodeJS.Timeout;
}

interface KeyState {
  running: number;
  /** Since when each running operation runs. */
  startedAt: Set<number>;
  waiting: Waiting[];
  /** Ended operations within the budget's window: when each ended and how long it ran. */
  used: Array<{ endedAt: number; ms: number }>;
  lastServed: number;
}

/**
 * A fair queue of expensive operations per key (an organisation id): at most `runningPerKey` of one key
 * run at once and at most `runningTotal` in all; the others wait in their key's own queue, and a freed
 * slot goes to the waiting key served least recently (round robin), so one key's backlog never sits in
 * front of another key's operation: with key A at its `runningPerKey`, key B's operation starts at once
 * (while the total has room) however many of A's wait. A key's queue is bounded (`queuedPerKey`, then
 * 429), and with a `budget` a key that has used its running time in the window waits until it has some
 * again (throttled, not refused).
 */
export class FairQueue {
  private readonly keys = new Map<string, KeyState>();
  private runningTotal = 0;
  private served = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now = () => Date.now();

  constructor(private readonly settings: FairQueueSettings) {}

  run<T>(key: string, operation: () => Promise<T>): Promise<T> {
    const state = this.state(key);
    if (state.waiting.length >= this.settings.queuedPerKey) {
      return Promise.reject(
        new ApiError(
          429,
          'TOO_MANY_CONCURRENT_REQUESTS',
          `${state.running} ${this.settings.what} of this organisation are running and ${state.waiting.length} waiting (at most ${this.settings.runningPerKey} at once and ${this.settings.queuedPerKey} waiting); retry when one has answered`,
          { 'retry-after': '1' },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const waiting: Waiting = {
        start: () => {
          clearTimeout(waiting.timer);
          const startedAt = this.now();
          state.startedAt.add(startedAt);
          Promise.resolve()
            .then(operation)
            .then(resolve, reject)
            .finally(() => this.finish(key, state, startedAt));
        },
      };
      state.waiting.push(waiting);
      const { maxWaitMs } = this.settings;
      if (maxWaitMs !== undefined) {
        waiting.timer = setTimeout(() => {
          const at = state.waiting.indexOf(waiting);
          if (at < 0) return; // started meanwhile
          state.waiting.splice(at, 1);
          reject(this.refusal(state, maxWaitMs));
          this.forget(key, state);
        }, maxWaitMs);
        waiting.timer.unref();
      }
      this.pump();
    });
  }

  /** The 429 of an operation that waited `maxWaitMs` for its turn: over its key's budget, or behind its others. */
  private refusal(state: KeyState, waitedMs: number): ApiError {
    const budget = this.settings.budget;
    if (budget && this.overBudget(state)) {
      const used = Math.round(this.usedMs(state));
      // Its use falls under the budget once enough of it leaves the window: the oldest first.
      let freeAt = this.now();
      let left = used;
      for (const u of state.used) {
        if (left < budget.ms) break;
        freeAt = u.endedAt + budget.windowMs;
        left -= u.ms;
      }
      if (left >= budget.ms) freeAt = this.now() + budget.windowMs; // running ones hold it
      const retryAfter = Math.max(1, Math.ceil((freeAt - this.now()) / 1000));
      return new ApiError(
        429,
        this.settings.budgetCode ?? 'TOO_MANY_CONCURRENT_REQUESTS',
        `this organisation's ${this.settings.what} ran ${used} ms in the last ${Math.round(budget.windowMs / 1000)} s, over its budget of ${budget.ms} ms per ${Math.round(budget.windowMs / 1000)} s; this one waited ${waitedMs} ms and was not started: retry after ${retryAfter} s`,
        { 'retry-after': String(retryAfter) },
      );
    }
    return new ApiError(
      429,
      'TOO_MANY_CONCURRENT_REQUESTS',
      `${state.running} ${this.settings.what} of this organisation are running and ${state.waiting.length} waiting (at most ${this.settings.runningPerKey} at once); this one waited ${waitedMs} ms and was not started: retry when one has answered`,
      { 'retry-after': '1' },
    );
  }

  /** Operations of `key` running now. */
  running(key: string): number {
    return this.keys.get(key)?.running ?? 0;
  }

  /** Operations of `key` waiting now. */
  waiting(key: string): number {
    return this.keys.get(key)?.waiting.length ?? 0;
  }

  /** Stops the budget's timer (a closing server): waiting operations then start only as others end. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private state(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      state = { running: 0, startedAt: new Set(), waiting: [], used: [], lastServed: 0 };
      this.keys.set(key, state);
    }
    return state;
  }

  private finish(key: string, state: KeyState, startedAt: number): void {
    const now = this.now();
    state.running--;
    this.runningTotal--;
    state.startedAt.delete(startedAt);
    if (this.settings.budget) state.used.push({ endedAt: now, ms: now - startedAt });
    this.forget(key, state);
    // Keys idle since their window passed are dropped once many are known, so the map stays small.
    if (this.keys.size > 1_000) for (const [k, st] of this.keys) this.forget(k, st);
    this.pump();
  }

  /** A key with nothing running, waiting or counted in its window is dropped (the map stays small). */
  private forget(key: string, state: KeyState): void {
    this.trim(state);
    if (state.running === 0 && state.waiting.length === 0 && state.used.length === 0) this.keys.delete(key);
  }

  private trim(state: KeyState): void {
    const budget = this.settings.budget;
    if (!budget) return;
    const since = this.now() - budget.windowMs;
    while (state.used.length > 0 && state.used[0]!.endedAt <= since) state.used.shift();
  }

  /** Running time used in the window: ended operations' and the running ones' so far. */
  private usedMs(state: KeyState): number {
    this.trim(state);
    const now = this.now();
    let ms = 0;
    for (const u of state.used) ms += u.ms;
    for (const at of state.startedAt) ms += now - at;
    return ms;
  }

  private overBudget(state: KeyState): boolean {
    const budget = this.settings.budget;
    return budget !== undefined && this.usedMs(state) >= budget.ms;
  }

  private pump(): void {
    let throttled = false;
    while (this.runningTotal < this.settings.runningTotal) {
      let pick: [string, KeyState] | undefined;
      for (const entry of this.keys) {
        const s = entry[1];
        if (s.waiting.length === 0 || s.running >= this.settings.runningPerKey) continue;
        if (this.overBudget(s)) {
          throttled = true;
          continue;
        }
        if (!pick || s.lastServed < pick[1].lastServed) pick = entry;
      }
      if (!pick) break;
      const [, state] = pick;
      state.lastServed = ++this.served;
      state.running++;
      this.runningTotal++;
      state.waiting.shift()!.start();
    }
    // A key waiting only for its budget: look again when its oldest use leaves the window.
    clearTimeout(this.timer);
    this.timer = undefined;
    if (throttled) {
      const budget = this.settings.budget!;
      let at = Number.POSITIVE_INFINITY;
      for (const s of this.keys.values()) {
        if (s.waiting.length > 0 && s.used.length > 0)
          at = Math.min(at, s.used[0]!.endedAt + budget.windowMs);
      }
      const delay = Number.isFinite(at) ? Math.max(10, at - this.now()) : budget.windowMs;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delay);
      this.timer.unref();
    }
  }
}
