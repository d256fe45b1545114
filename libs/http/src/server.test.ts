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
