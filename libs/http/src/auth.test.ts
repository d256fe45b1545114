import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@hub/observability';
import { createSigner } from 'fast-jwt';
import Type from 'typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuthSettings, GRANTS, JwksKeys, registerAuth, requireGrant, signToken } from './auth.js';
import { registerRateLimit } from './rate-limit.js';
import { createHttpServer } from './server.js';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const ISSUER = 'test-issuer';
const AUDIENCE = 'erp-integration-hub';
const claims = { org_id: 'org-a', sub: 'user', grants: [GRANTS.view, GRANTS.manage] };

async function build(settings: Partial<AuthSettings>, onHit?: () => void) {
  const app = createHttpServer({ logger: createLogger({ service: 'auth-test', level: 'silent' }) });
  await registerAuth(app, { issuer: ISSUER, audience: AUDIENCE, ...settings });
  registerRateLimit(app, {
    limit: 1000,
    windowMs: 60_000,
    hit: async () => {
      onHit?.();
      return { count: 1, resetAt: Date.now() + 60_000 };
    },
  });
  let parsed = 0;
  app.post(
    '/things',
    {
      onRequest: requireGrant(GRANTS.manage),
      schema: { body: Type.Object({ name: Type.String() }) },
      preValidation: async () => {
        parsed += 1;
      },
    },
    async (request) => ({ org: request.principal.orgId }),
  );
  return { app, parsed: () => parsed };
}

const hs = (payload: Record<string, unknown>, options: Record<string, unknown> = {}) =>
  createSigner({ key: SECRET, algorithm: 'HS256', ...options })(payload);

const post = (
  app: Awaited<ReturnType<typeof build>>['app'],
  token: string | undefined,
  payload = '{"name":"x"}',
) =>
  app.inject({
    method: 'POST',
    url: '/things',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    payload,
  });

describe('bearer tokens', () => {
  it('accepts a token with exp, iss and aud, and refuses one without any of them', async () => {
    const { app } = await build({ secret: SECRET });
    const ok = signToken({ secret: SECRET, issuer: ISSUER, orgId: 'org-a' });
    expect((await post(app, ok)).json()).toEqual({ org: 'org-a' });

    const cases: Array<[string, string, RegExp]> = [
      ['no exp', hs({ ...claims, iss: ISSUER, aud: AUDIENCE }), /exp/],
      ['no aud', hs(claims, { iss: ISSUER, expiresIn: 60_000 }), /aud/],
      ['no iss', hs(claims, { aud: AUDIENCE, expiresIn: 60_000 }), /iss/],
      ['other aud', hs(claims, { iss: ISSUER, aud: 'another-api', expiresIn: 60_000 }), /aud/],
      ['other iss', hs(claims, { iss: 'someone-else', aud: AUDIENCE, expiresIn: 60_000 }), /iss/],
      [
        'expired',
        hs({ ...claims, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 60 }),
        /expired/,
      ],
    ];
    for (const [name, token, message] of cases) {
      const res = await post(app, token);
      expect(res.statusCode, name).toBe(401);
      expect(res.json().message, name).toMatch(message);
    }
  });

  it('refuses a token valid for longer than the maximum lifetime (default 24 h), naming it', async () => {
    const { app } = await build({ secret: SECRET });
    const day = signToken({ secret: SECRET, issuer: ISSUER, orgId: 'org-a', expiresInSeconds: 86_400 });
    expect((await post(app, day)).statusCode).toBe(200);
    const year = signToken({
      secret: SECRET,
      issuer: ISSUER,
      orgId: 'org-a',
      expiresInSeconds: 365 * 86_400,
    });
    const refused = await post(app, year);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().message).toMatch(
      /valid for longer than this hub accepts \(exp more than 86400 s ahead/,
    );
    const { app: strict } = await build({ secret: SECRET, maxLifetimeSeconds: 3600 });
    expect((await post(strict, day)).statusCode).toBe(401);
  });

  it('authenticates and rate-limits before the body is read or validated', async () => {
    let hits = 0;
    const { app, parsed } = await build({ secret: SECRET }, () => {
      hits += 1;
    });
    const junk = `{"name": ${'['.repeat(10_000)}`;
    const anonymous = await post(app, undefined, junk);
    expect(anonymous.statusCode).toBe(401);
    const viewOnly = signToken({ secret: SECRET, issuer: ISSUER, orgId: 'org-a', grants: [GRANTS.view] });
    const forbidden = await post(app, viewOnly, junk);
    expect(forbidden.statusCode).toBe(403);
    expect(parsed()).toBe(0);
    expect(hits).toBe(1); // the forbidden request was counted, the anonymous one was not
  });

  it('verifies RS/ES tokens with a public key file, and never takes an HMAC token signed with that key', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const dir = mkdtempSync(join(tmpdir(), 'hub-auth-'));
    const file = join(dir, 'jwt.pem');
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    writeFileSync(file, publicPem);
    const { app } = await build({ publicKeyFile: file });
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const es = createSigner({
      key: privatePem,
      algorithm: 'ES256',
      iss: ISSUER,
      aud: AUDIENCE,
      expiresIn: 60_000,
    });
    expect((await post(app, es(claims))).statusCode).toBe(200);

    const confused = createSigner({
      key: publicPem,
      algorithm: 'HS256',
      iss: ISSUER,
      aud: AUDIENCE,
      expiresIn: 60_000,
    });
    expect((await post(app, confused(claims))).statusCode).toBe(401);
  });

  describe('with a JWKS URL', () => {
    const current = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const next = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let served = [{ ...current.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }];
    let fetches = 0;
    let server: Server;
    const url = new Promise<string>((resolve) => {
      server = createServer((_req, res) => {
        fetches += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: served }));
      }).listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`),
      );
    });
    afterAll(() => server.close());
    const rs = (key: typeof current, kid: string) =>
      createSigner({
        key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        algorithm: 'RS256',
        kid,
        iss: ISSUER,
        aud: AUDIENCE,
        expiresIn: 60_000,
      })(claims);

    it('takes the key named by kid from the key set, over real HTTP', async () => {
      const { app } = await build({ jwksUrl: await url });
      expect((await post(app, rs(current, 'k1'))).statusCode).toBe(200);
      expect((await post(app, rs(current, 'k1'))).statusCode).toBe(200);
      expect(fetches).toBe(1); // cached
      const unknown = await post(app, rs(next, 'k2'));
      expect(unknown.statusCode).toBe(401);
      expect(unknown.json().message).toMatch(/no key "k2"/);
      const wrongKey = await post(app, rs(next, 'k1'));
      expect(wrongKey.statusCode).toBe(401);
    });

    it('fetches the key set again when a token names a new key (rotation without a restart)', async () => {
      const keys = new JwksKeys(await url, 60_000, 0);
      await keys.keyFor('k1');
      served = [...served, { ...next.publicKey.export({ format: 'jwk' }), kid: 'k2', use: 'sig' }];
      expect(await keys.keyFor('k2')).toBe(next.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    });
  });
});
