import { createServer as createHttpServerRaw, type RequestListener } from 'node:http';
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

describe('the edge’s public probes', () => {
  it('fans /readyz out at most once a second, however many callers ask', async () => {
    let calls = 0;
    const upstream = createHttpServerForTest((_req, res) => {
      calls += 1;
      res.end('{"status":"ok"}');
    });
    const url = await upstream.url;
    const config = loadEdgeConfig({
      INGEST_GATEWAY_URL: url,
      CONFIG_SERVICE_URL: url,
      MAPPER_URL: url,
      ENTITY_WRITER_URL: url,
      LOG_LEVEL: 'silent',
    });
    const app = await buildEdge(config, { logger: createLogger({ service: 'edge-test', level: 'silent' }) });
    try {
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/readyz' })),
      );
      expect(answers.every((a) => a.statusCode === 200)).toBe(true);
      expect(calls).toBe(4); // one per service behind the edge, not 200
      const metrics = await Promise.all(
        Array.from({ length: 20 }, () => app.inject({ method: 'GET', url: '/metrics' })),
      );
      expect(new Set(metrics.map((m) => m.body)).size).toBe(1);
    } finally {
      await app.close();
      upstream.server.close();
    }
  });
});

function createHttpServerForTest(handler: RequestListener) {
  const server = createHttpServerRaw(handler);
  const url = new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
    ),
  );
  return { server, url };
}
