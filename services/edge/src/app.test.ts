import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServerRaw, type RequestListener } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildAsyncApi } from '@hub/contracts';
import { createLogger, initTracing } from '@hub/observability';
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

const logger = createLogger({ service: 'edge-test', level: 'silent' });

/** An edge whose four services are all at `upstream`, with `env` over that configuration. */
const edgeAt = (upstream: string, env: Record<string, string> = {}) =>
  buildEdge(
    loadEdgeConfig({
      INGEST_GATEWAY_URL: upstream,
      CONFIG_SERVICE_URL: upstream,
      MAPPER_URL: upstream,
      ENTITY_WRITER_URL: upstream,
      LOG_LEVEL: 'silent',
      ...env,
    }),
    { logger },
  );

describe('the edge when a service behind it is down', () => {
  it('answers 503 with Retry-After and a coded body, so the client retries', async () => {
    const app = await edgeAt(`http://127.0.0.1:${await closedPort()}`);
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

  it('answers a streamed request to a refused service once: one 503, no "already sent" and no 500 in its log', async () => {
    const lines: Array<{ level: string; msg: string; res?: { statusCode: number } }> = [];
    const capture = { write: (line: string) => void lines.push(JSON.parse(line)) };
    const app = await buildEdge(
      loadEdgeConfig({
        INGEST_GATEWAY_URL: `http://127.0.0.1:${await closedPort()}`,
        CONFIG_SERVICE_URL: 'http://127.0.0.1:9',
        MAPPER_URL: 'http://127.0.0.1:9',
        ENTITY_WRITER_URL: 'http://127.0.0.1:9',
        LOG_LEVEL: 'info',
      }),
      { logger: createLogger({ service: 'edge-test', level: 'info' }, capture) },
    );
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      for (let i = 0; i < 5; i++) {
        // Over real HTTP, so the body reaches the proxy as a stream (as a client's upload does).
        const res = await fetch(`${url}/v3/erp/updates/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ integration_id: 'x', events: [{ event_name: 'e', payload: { n: i } }] }),
        });
        expect(res.status).toBe(503);
        expect(((await res.json()) as { code: string }).code).toBe('UPSTREAM_UNAVAILABLE');
      }
      await new Promise((r) => setTimeout(r, 50)); // a second answer would be logged just after the first
      expect(lines.filter((l) => /already sent/i.test(l.msg)).map((l) => l.msg)).toEqual([]);
      expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([]);
      const completed = lines.filter((l) => l.msg === 'request completed');
      expect(completed.map((l) => l.res?.statusCode)).toEqual([503, 503, 503, 503, 503]);
    } finally {
      await app.close();
    }
  });

  it('is not ready with EDGE_READINESS=upstreams (the default), and stays ready with self', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const byDefault = await edgeAt(down);
    const self = await edgeAt(down, { EDGE_READINESS: 'self' });
    try {
      const notReady = await byDefault.inject({ method: 'GET', url: '/readyz' });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toMatchObject({ 'ingest-gateway': false, 'entity-writer': false });
      const ready = await self.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: 'ok', serving: true });
    } finally {
      await byDefault.close();
      await self.close();
    }
  });
});

describe('the edge’s documents', () => {
  it('serves the topics’ AsyncAPI document beside /openapi.json, with the brokers it is given', async () => {
    const app = await edgeAt('http://127.0.0.1:1', { KAFKA_BROKERS: '10.0.0.5:9092,10.0.0.6:9092' });
    try {
      const res = await app.inject({ method: 'GET', url: '/asyncapi.json' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('application/json');
      const doc = res.json();
      expect(doc).toEqual(buildAsyncApi({ kafkaBrokers: ['10.0.0.5:9092', '10.0.0.6:9092'] }));
      expect(doc.asyncapi).toBe('3.0.0');
      expect(doc.servers.kafka.host).toBe('10.0.0.5:9092');
      expect(Object.values(doc.channels).map((c) => (c as { address: string }).address)).toContain(
        'erp.entities.processed',
      );
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
    const app = await edgeAt(url);
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

describe('the web console at /console', () => {
  const edgeWith = async (consoleDir: string) =>
    edgeAt(`http://127.0.0.1:${await closedPort()}`, { CONSOLE_DIR: consoleDir });

  it('serves the built page without a token, under a strict CSP; hashed assets cached for good', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'console-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Hub console</title>');
    writeFileSync(path.join(dir, 'assets/index-AbC123.js'), 'console.log(1)');
    const app = await edgeWith(dir);
    try {
      const bare = await app.inject({ method: 'GET', url: '/console' });
      expect(bare.statusCode).toBe(302);
      expect(bare.headers.location).toBe('/console/');

      const page = await app.inject({ method: 'GET', url: '/console/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.body).toContain('Hub console');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(page.headers['cache-control']).toBe('no-cache');

      const asset = await app.inject({ method: 'GET', url: '/console/assets/index-AbC123.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['content-security-policy']).toBe(csp);

      expect((await app.inject({ method: 'GET', url: '/console/assets/missing.js' })).statusCode).toBe(404);
      // The API keeps its own rules: no token, no answer (here: no service behind it either).
      expect((await app.inject({ method: 'GET', url: '/v2/integrations' })).statusCode).toBe(503);
      expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
    } finally {
      await app.close();
    }
  });

  it('says so in plain text when the console was not built', async () => {
    const app = await edgeWith(path.join(tmpdir(), 'no-console-here'));
    try {
      const res = await app.inject({ method: 'GET', url: '/console/' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('text/plain');
      expect(res.body).toContain('not built');
      expect(res.body).toContain('npm run build');
    } finally {
      await app.close();
    }
  });
});

describe('a client’s traceparent at the edge', () => {
  it('starts a trace of the edge’s own, passes only that to the service, and names it in traceresponse', async () => {
    const tracing = initTracing({ serviceName: 'edge-test' });
    const received: Array<Record<string, string | string[] | undefined>> = [];
    const { server, url } = createHttpServerForTest((req, res) => {
      received.push(req.headers);
      res.setHeader('content-type', 'application/json');
      res.end('{"integrations":[]}');
    });
    const app = await edgeAt(await url);
    const client = { id: 'c'.repeat(32), span: 'd'.repeat(16) };
    try {
      // An unsampled flag, as a client could send to switch our tracing of its request off.
      const res = await app.inject({
        method: 'GET',
        url: '/v2/integrations',
        headers: { traceparent: `00-${client.id}-${client.span}-00`, tracestate: 'vendor=secret' },
      });
      expect(res.statusCode).toBe(200);
      const ours = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(res.headers.traceresponse));
      expect(ours, String(res.headers.traceresponse)).not.toBeNull();
      expect(ours![1]).not.toBe(client.id);
      const upstream = received[0]!;
      expect(upstream.traceparent).toBe(res.headers.traceresponse); // the edge's span, sampled
      expect(upstream.tracestate).toBeUndefined();
      expect(JSON.stringify(upstream)).not.toContain(client.id);
    } finally {
      await app.close();
      server.close();
      await tracing.shutdown();
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
