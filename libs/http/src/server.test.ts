import { createLogger } from '@hub/observability';
import { describe, expect, it } from 'vitest';
import { createHttpServer } from './server.js';

class DatabaseDown extends Error {}

describe('the error handler', () => {
  const build = () => {
    const app = createHttpServer({
      logger: createLogger({ service: 'http-test', level: 'silent' }),
      isUnavailable: (err) => err instanceof DatabaseDown,
    });
    app.get('/down', async () => {
      throw new DatabaseDown('connection 4 to 127.0.0.1:27017 closed');
    });
    app.get('/bug', async () => {
      throw new Error('secret internals');
    });
    return app;
  };

  it('answers 503 with Retry-After when a dependency is unavailable, so clients retry', async () => {
    const res = await build().inject({ method: 'GET', url: '/down' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(res.body).not.toContain('27017');
  });

  it('answers 500 for anything else, hiding internals behind the request id', async () => {
    const res = await build().inject({ method: 'GET', url: '/bug' });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toContain(res.headers['x-request-id']);
    expect(res.body).not.toContain('secret');
  });
});

describe('request bodies', () => {
  const build = () => {
    const app = createHttpServer({
      logger: createLogger({ service: 'http-test', level: 'silent' }),
      bodyLimit: 64,
    });
    app.delete('/things/:id', async (request) => ({ deleted: true, body: request.body ?? null }));
    app.post('/things', async (request) => ({ body: request.body }));
    return app;
  };

  it('takes an empty body with Content-Type application/json as no body (the guide sends it on DELETE)', async () => {
    const res = await build().inject({
      method: 'DELETE',
      url: '/things/1',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: true, body: null });
  });

  it('keeps `__proto__` and `constructor` keys as ordinary keys, polluting no prototype', async () => {
    const app = createHttpServer({ logger: createLogger({ service: 'http-test', level: 'silent' }) });
    app.post('/echo', async (request) => {
      const body = request.body as Record<string, unknown>;
      return {
        ownKeys: Object.keys(body),
        protoIsObject: Object.getPrototypeOf(body) === Object.prototype,
        echoed: body,
      };
    });
    const payload =
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"a":{"__proto__":{"x":3}}}';
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(res.statusCode).toBe(200);
    const answer = res.json();
    expect(answer.ownKeys).toEqual(['__proto__', 'constructor', 'a']);
    expect(answer.protoIsObject).toBe(true);
    // What the client sent comes back as sent (serialised from own keys), and nothing leaked into prototypes.
    expect(JSON.stringify(answer.echoed)).toBe(payload);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('answers our codes for body problems, never a framework code', async () => {
    const app = build();
    const cases = [
      {
        payload: '{"a":',
        type: 'application/json',
        status: 400,
        code: 'BAD_REQUEST',
        message: /not valid JSON/,
      },
      {
        payload: 'x'.repeat(100),
        type: 'application/json',
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        message: /64 bytes/,
      },
      { payload: 'a=b', type: 'text/csv', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: /text\/csv/ },
    ];
    for (const c of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/things',
        headers: { 'content-type': c.type },
        payload: c.payload,
      });
      expect(res.statusCode, c.payload).toBe(c.status);
      expect(res.json().code).toBe(c.code);
      expect(res.json().message).toMatch(c.message);
      expect(res.body).not.toContain('FST_');
    }
  });
});

describe('undeclared methods', () => {
  it('answer 405 with Allow on an existing path (before any body is read), 404 elsewhere', async () => {
    const app = createHttpServer({
      logger: createLogger({ service: 'http-test', level: 'silent' }),
      allowedMethods: (path) => (path === '/public' ? ['GET'] : []),
    });
    app.get('/things/:id', async () => ({}));
    app.delete('/things/:id', async () => ({}));
    const trace = await app.inject({ method: 'TRACE', url: '/things/7' });
    expect(trace.statusCode).toBe(405);
    expect(trace.headers.allow).toBe('DELETE, GET, HEAD');
    expect(trace.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
    const post = await app.inject({
      method: 'POST',
      url: '/things/7',
      payload: 'x',
      headers: { 'content-type': 'text/csv' },
    });
    expect(post.statusCode).toBe(405);
    expect((await app.inject({ method: 'POST', url: '/public' })).headers.allow).toBe('GET');
    expect((await app.inject({ method: 'GET', url: '/nothing/here' })).statusCode).toBe(404);
  });
});
