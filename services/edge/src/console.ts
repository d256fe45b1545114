import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { HttpServer } from '@hub/http';

/** Where `npm run build` puts the web console (web/console/dist), seen from this file in src/ or dist/. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../web/console/dist', import.meta.url));

/**
 * The console's pages may load only what the edge serves and call only the edge: no inline script, no
 * other origin, never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The web console (web/console) as static files under /console/. Reachable without a token: it is a page;
 * every API call it makes carries the token the user gives it. Hashed assets are cached for good, the
 * page itself is revalidated on every load.
 */
export async function registerConsole(app: HttpServer, dir: string): Promise<void> {
  app.get('/console', (_request, reply) => reply.redirect('/console/', 302));
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    });
    if (!existsSync(path.join(dir, 'index.html'))) {
      scope.get('/console/*', (_request, reply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(`The web console is not built (no ${dir}/index.html): run \`npm run build\` and reload.\n`),
      );
      return;
    }
    await scope.register(fastifyStatic, {
      root: dir,
      prefix: '/console/',
      decorateReply: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: (reply, file) => {
        const hashed = file.split(path.sep).includes('assets');
        reply.header('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  });
}
