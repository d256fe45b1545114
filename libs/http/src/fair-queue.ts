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
   * Running time one key may use, as a rate: `ms` per `windowMs`. A key's operations' running time (from
   * start to end, the running ones' so far) is its debt, paid back at that rate; a key owing `ms` or more
   * starts its next operation only once its debt falls under `ms` again, whether or not others wait. So a
   * key gets bursts of up to `ms` and `ms / windowMs` of the resource in the long run, also when one
   * operation runs far past `ms` (a 5 s scan on a budget of 1 s per 10 s holds its key 40 s, not 10).
   * Bounds what one key's heavy operations take from a resource they share with requests that do not pass
   * through this queue (the database, the CPU).
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
  /** Since when each running operation runs (one entry each, also for two started in the same ms). */
  startedAt: Set<{ at: number }>;
  waiting: Waiting[];
  /** Running time of ended operations not paid back yet (ms), as it was at `debtAt`. */
  debt: number;
  debtAt: number;
  lastServed: number;
}

/**
 * A fair queue of expensive operations per key (an organisation id): at most `runningPerKey` of one key
 * run at once and at most `runningTotal` in all; the others wait in their key's own queue, and a freed
 * slot goes to the waiting key served least recently (round robin), so one key's backlog never sits in
 * front of another key's operation: with key A at its `runningPerKey`, key B's operation starts at once
 * (while the total has room) however many of A's wait. A key's queue is bounded (`queuedPerKey`, then
 * 429), and with a `budget` a key that owes its running time waits until it has paid enough of it back
 * (throttled, not refused).
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
          const startedAt = { at: this.now() };
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
      const used = this.usedMs(state);
      const window = Math.round(budget.windowMs / 1000);
      // Its debt falls under the budget at the budget's rate (the running ones add to it until they end).
      const owedMs = Math.round(((used - budget.ms) * budget.windowMs) / budget.ms);
      const retryAfter = Math.max(1, Math.ceil(owedMs / 1000));
      return new ApiError(
        429,
        this.settings.budgetCode ?? 'TOO_MANY_CONCURRENT_REQUESTS',
        `this organisation's ${this.settings.what} used ${Math.round(used)} ms of running time not paid back yet, over its budget of ${budget.ms} ms per ${window} s (paid back at that rate); this one waited ${waitedMs} ms and was not started: retry after ${retryAfter} s`,
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
      state = { running: 0, startedAt: new Set(), waiting: [], debt: 0, debtAt: this.now(), lastServed: 0 };
      this.keys.set(key, state);
    }
    return state;
  }

  private finish(key: string, state: KeyState, startedAt: { at: number }): void {
    const now = this.now();
    state.running--;
    this.runningTotal--;
    state.startedAt.delete(startedAt);
    if (this.settings.budget) {
      this.payBack(state);
      state.debt += now - startedAt.at;
    }
    this.forget(key, state);
    // Keys idle that owe nothing are dropped once many are known, so the map stays small.
    if (this.keys.size > 1_000) for (const [k, st] of this.keys) this.forget(k, st);
    this.pump();
  }

  /** A key with nothing running, waiting or owed is dropped (the map stays small). */
  private forget(key: string, state: KeyState): void {
    this.payBack(state);
    if (state.running === 0 && state.waiting.length === 0 && state.debt === 0) this.keys.delete(key);
  }

  /** Pays back the key's debt at the budget's rate for the time since it was last paid. */
  private payBack(state: KeyState): void {
    const budget = this.settings.budget;
    const now = this.now();
    // A wall clock set back pays nothing back (it never charges).
    const elapsed = Math.max(0, now - state.debtAt);
    if (budget) state.debt = Math.max(0, state.debt - (elapsed * budget.ms) / budget.windowMs);
    state.debtAt = now;
  }

  /** Running time not paid back: ended operations' debt and the running ones' time so far. */
  private usedMs(state: KeyState): number {
    this.payBack(state);
    const now = this.now();
    let ms = state.debt;
    for (const { at } of state.startedAt) ms += now - at;
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
    // A key waiting only for its budget: look again when the first such key's debt falls under it (one
    // with operations running is looked at again when one ends).
    clearTimeout(this.timer);
    this.timer = undefined;
    if (throttled) {
      const budget = this.settings.budget!;
      let delay = budget.windowMs;
      for (const s of this.keys.values()) {
        if (s.waiting.length === 0 || s.running > 0) continue;
        const owed = this.usedMs(s) - budget.ms;
        delay = Math.min(delay, Math.ceil((owed * budget.windowMs) / budget.ms) + 1);
      }
      delay = Math.max(10, delay);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, delay);
      this.timer.unref();
    }
  }
}
