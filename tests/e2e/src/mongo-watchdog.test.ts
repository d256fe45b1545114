import { MongoStore } from '@hub/mongo';
import { createLogger } from '@hub/observability';
import { resolveStack } from '@hub/testing';
import { describe, expect, it } from 'vitest';

// The safety net for a client that cannot reach a database that is up (ADR 2): a client that is broken
// while the server answers new connections makes the watchdog fire; a healthy one never does.
describe('the Mongo client watchdog', () => {
  const stack = resolveStack();
  const logger = createLogger({ service: 'watchdog-test', level: 'silent' });

  it('fires for a client that stays broken while the database answers new connections', async () => {
    const store = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'watchdog-test' });
    const healthy = await MongoStore.connect({ url: stack.mongoUrl, logger, appName: 'watchdog-test' });
    let fired = 0;
    let healthyFired = 0;
    const stop = store.watchdog(() => fired++, { intervalMs: 100, afterMs: 500 });
    const stopHealthy = healthy.watchdog(() => healthyFired++, { intervalMs: 100, afterMs: 500 });
    try {
      await store.client.close(); // from now on every operation of this client fails
      const deadline = Date.now() + 10_000;
      while (fired === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(fired).toBeGreaterThan(0);
      expect(healthyFired).toBe(0);
    } finally {
      stop();
      stopHealthy();
      await healthy.close();
    }
  });
});
