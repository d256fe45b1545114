import { createServer } from 'node:net';
import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { buildEdge } from './app.js';
import { loadEdgeConfig } from './config.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('the edge when a service behind it is down', () => {
  it('answers 503 with Retry-After and a coded body, so the client retries', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const config = loadEdgeConfig({
      INGEST_GATEWAY_URL: down,
      CONFIG_SERVICE_URL: down,
      MAPPER_URL: down,
      ENTITY_WRITER_URL: down,
      LOG_LEVEL: 'silent',
    });
    const app = await buildEdge(config, { logger: createLogger({ service: 'edge-test', level: 'silent' }) });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v2/erp/updates/events',
        payload: { integration_id: 'x', events: [] },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(res.json().message).toContain('/v2/erp/updates/events');
    } finally {
      await app.close();
    }
  });
});
