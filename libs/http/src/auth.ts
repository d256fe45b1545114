import fastifyJwt from '@fastify/jwt';
import { createSigner } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from './errors.js';
import type { HttpServer } from './server.js';

export const GRANTS = { view: 'integration:view', manage: 'integration:manage' } as const;
export type Grant = (typeof GRANTS)[keyof typeof GRANTS];

export interface AuthSettings {
  /** HS256 shared secret (at least 32 characters). */
  secret: string;
  issuer: string;
}

/** Who is calling: taken from the verified bearer token only. */
export interface Principal {
  orgId: string;
  subject: string;
  grants: ReadonlySet<string>;
}

interface TokenClaims {
  org_id?: unknown;
  sub?: unknown;
  grants?: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

/**
 * Bearer-token auth: every route except the probes requires a valid JWT naming `org_id`.
 * A missing or invalid token is 401; `requireGrant` makes a missing grant 403.
 */
export async function registerAuth(app: HttpServer, settings: AuthSettings): Promise<void> {
  await app.register(fastifyJwt, {
    secret: settings.secret,
    verify: { allowedIss: settings.issuer, algorithms: ['HS256'] },
  });
  app.decorateRequest('principal', undefined as unknown as Principal);
}

export async function authenticate(request: FastifyRequest): Promise<void> {
  if (request.principal) return; // already authenticated by an earlier hook
  const header = request.headers.authorization;
  if (!header || !/^Bearer\s+\S+/i.test(header)) {
    throw unauthorized('missing bearer token: send "Authorization: Bearer <token>"');
  }
  let claims: TokenClaims;
  try {
    claims = await request.jwtVerify<TokenClaims>();
  } catch (err) {
    throw unauthorized(`invalid token: ${(err as Error).message}`);
  }
  if (typeof claims.org_id !== 'string' || claims.org_id.length === 0) {
    throw unauthorized('invalid token: it names no organisation (claim org_id)');
  }
  const grants = Array.isArray(claims.grants) ? claims.grants.filter((g) => typeof g === 'string') : [];
  request.principal = {
    orgId: claims.org_id,
    subject: typeof claims.sub === 'string' ? claims.sub : 'unknown',
    grants: new Set(grants),
  };
}

/** A preHandler: authenticates, then checks the grant. */
export function requireGrant(grant: Grant) {
  return async (request: FastifyRequest): Promise<void> => {
    await authenticate(request);
    if (!request.principal.grants.has(grant)) {
      throw forbidden(`token lacks the grant ${grant}`);
    }
  };
}

export interface DevTokenOptions extends AuthSettings {
  orgId: string;
  subject?: string;
  grants?: string[];
  expiresInSeconds?: number;
}

/** Signs a development token (the local stack's `npm run token`). */
export function signToken(options: DevTokenOptions): string {
  const sign = createSigner({
    key: options.secret,
    algorithm: 'HS256',
    iss: options.issuer,
    expiresIn: (options.expiresInSeconds ?? 12 * 3600) * 1000,
  });
  return sign({
    org_id: options.orgId,
    sub: options.subject ?? `dev-user@${options.orgId}`,
    grants: options.grants ?? [GRANTS.view, GRANTS.manage],
  });
}
