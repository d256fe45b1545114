import { ApiError } from '@hub/http';
import { describe, expect, it } from 'vitest';
import { ConfigurationChangeRate } from './change-rate.js';

/** A rate on a clock of its own: `sleep` records each wait and moves the clock by it. */
function rateAt(settings = { bytesPerMinute: 60_000, burstBytes: 20_000, maxWaitMs: 30_000 }) {
  let now = 0;
  const slept: number[] = [];
  const rate = new ConfigurationChangeRate(
    settings,
    () => now,
    async (ms) => {
      slept.push(ms);
      now += ms;
    },
  );
  return {
    rate,
    slept,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('ConfigurationChangeRate', () => {
  it('lets changes through at once within the bucket, then paces the organisation by the bytes it republished', async () => {
    // 60,000 bytes per minute: 1 byte per ms; 20,000 at once.
    const { rate, slept } = rateAt();
    await rate.admit('org-a');
    rate.charge('org-a', 15_000);
    await rate.admit('org-a'); // 5,000 left
    rate.charge('org-a', 15_000); // 10,000 short
    expect(slept).toEqual([]);
    expect(rate.waitMs('org-a')).toBe(10_000);
    await rate.admit('org-a');
    expect(slept).toEqual([10_000]);
    // Another organisation's bucket is its own: full.
    expect(rate.waitMs('org-b')).toBe(0);
    await rate.admit('org-b');
    expect(slept).toEqual([10_000]);
  });

  it('refills with time, up to the bucket', () => {
    const { rate, advance } = rateAt();
    rate.charge('org-a', 30_000);
    expect(rate.level('org-a')).toBe(-10_000);
    advance(25_000);
    expect(rate.level('org-a')).toBe(15_000);
    advance(60_000);
    expect(rate.level('org-a')).toBe(20_000);
  });

  it('answers 429 CONFIGURATION_RATE_EXCEEDED with Retry-After when the wait would pass its limit, and waits for nothing', async () => {
    const { rate, slept } = rateAt({ bytesPerMinute: 60_000, burstBytes: 20_000, maxWaitMs: 5_000 });
    rate.charge('org-a', 27_500); // 7,500 short: 7.5 s to wait
    const refused = await rate.admit('org-a').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({
      statusCode: 429,
      code: 'CONFIGURATION_RATE_EXCEEDED',
      headers: { 'retry-after': '8' },
    });
    expect((refused as ApiError).message).toBe(
      "this organisation's configuration changes republished more than its budget of 60000 bytes of integration snapshots per minute (20000 at once; every change republishes its integration whole to every gateway and mapper): the next change may go in 8 s (its bucket is 7500 bytes short); make fewer changes to large integrations",
    );
    expect(slept).toEqual([]);
    await rate.admit('org-b');
  });
});
