import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fastifyJwt from '@fastify/jwt';
import { type Algorithm, createSigner } from 'fast-jwt';
import type { FastifyRequest } from 'fastify';
import { ApiError, forbidden, unauthorized } from './errors.js';
import type { HttpServer } from './server.js';

/**
 * What a token may do: an organisation's `view` and `manage` of its own integrations, and `operate`, the hub
 * operator's view of the shared pipeline (no organisation's data, but every organisation's load).
 */
export const GRANTS = {
  view: 'integration:view',
  manage: 'integration:manage',
  operate: 'hub:operate',
} as const;
export type Grant = (typeof GRANTS)[keyof typeof GRANTS];

export interface AuthSettings {
  /** Required `iss` of every token. */
  issuer: string;
  /** Required in every token's `aud` (a string or an array containing it). */
  audience: string;
  /** Exactly one key source. HS256 shared secret (at least 32 characters). */
  secret?: string | undefined;
  /** A PEM public key (RSA, EC or Ed25519): RS256/PS256/ES256/EdDSA tokens, no shared secret. */
  publicKeyFile?: string | undefined;
  /** A JSON Web Key Set, keys chosen by the token's `kid`. */
  jwksUrl?: string | undefined;
  /** A token whose `exp` lies further ahead than this is refused (default 24 h). */
  maxLifetimeSeconds?: number | undefined;
}

/** The services' token settings from their validated configuration (AuthEnv of libs/config). */
export function authSettingsFrom(config: {
  AUTH_JWT_ISSUER: string;
  AUTH_JWT_AUDIENCE: string;
  AUTH_JWT_SECRET?: string | undefined;
  AUTH_JWT_PUBLIC_KEY_FILE?: string | undefined;
  AUTH_JWT_JWKS_URL?: string | undefined;
  AUTH_JWT_MAX_LIFETIME_SECONDS?: number | undefined;
}): AuthSettings {
  return {
    issuer: config.AUTH_JWT_ISSUER,
    audience: config.AUTH_JWT_AUDIENCE,
    secret: config.AUTH_JWT_SECRET,
    publicKeyFile: config.AUTH_JWT_PUBLIC_KEY_FILE,
    jwksUrl: config.AUTH_JWT_JWKS_URL,
    maxLifetimeSeconds: config.AUTH_JWT_MAX_LIFETIME_SECONDS,
  };
}

/** Every token must say when it expires, who issued it and for whom. */
export const REQUIRED_CLAIMS = ['exp', 'iss', 'aud'] as const;
/** A public key never verifies an HMAC token (no algorithm confusion). */
const ASYMMETRIC: Algorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

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
  interface FastifyInstance {
    /** The longest remaining validity a token may have, in seconds (AuthSettings.maxLifetimeSeconds). */
    tokenMaxLifetimeSeconds: number;
  }
}

export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 86_400;

/**
 * Bearer-token auth: every route except the probes requires a valid JWT naming `org_id`.
 * A missing or invalid token is 401; `requireGrant` makes a missing grant 403.
 */
export async function registerAuth(app: HttpServer, settings: AuthSettings): Promise<void> {
  const verify = {
    allowedIss: settings.issuer,
    allowedAud: settings.audience,
    requiredClaims: [...REQUIRED_CLAIMS],
  };
  if (settings.secret !== undefined) {
    await app.register(fastifyJwt, { secret: settings.secret, verify: { ...verify, algorithms: ['HS256'] } });
  } else if (settings.publicKeyFile !== undefined) {
    const key = readPublicKey(settings.publicKeyFile);
    await app.register(fastifyJwt, {
      secret: { public: key },
      verify: { ...verify, algorithms: ASYMMETRIC },
    });
  } else if (settings.jwksUrl !== undefined) {
    const keys = new JwksKeys(settings.jwksUrl);
    await app.register(fastifyJwt, {
      secret: {
        public: (_request: FastifyRequest, token: unknown) =>
          keys.keyFor((token as { header?: { kid?: unknown } }).header?.kid),
      },
      decode: { complete: true },
      verify: { ...verify, algorithms: ASYMMETRIC },
    });
  } else {
    throw new Error('no token key source: set a secret, a public key file or a JWKS URL');
  }
  app.decorateRequest('principal', undefined as unknown as Principal);
  app.decorate('tokenMaxLifetimeSeconds', settings.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS);
}

function readPublicKey(file: string): string {
  const pem = readFileSync(file, 'utf8');
  const key = createPublicKey(pem); // throws on anything that is not a public key (or a private one)
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * The keys of a JWKS endpoint by `kid`, fetched on first use, kept 10 minutes, and fetched again (at most
 * every 30 s) when a token names a key not seen yet, so a key rotation needs no restart.
 */
export class JwksKeys {
  private keys = new Map<string, string>();
  private fetchedAt = 0;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly maxAgeMs = 10 * 60_000,
    private readonly minRefetchMs = 30_000,
  ) {}

  async keyFor(kid: unknown): Promise<string> {
    const age = Date.now() - this.fetchedAt;
    const known = typeof kid === 'string' ? this.keys.get(kid) : this.onlyKey();
    if (known !== undefined && age < this.maxAgeMs) return known;
    if (known === undefined && age < this.minRefetchMs && this.fetchedAt > 0) {
      throw unauthorized(`invalid token: no key ${JSON.stringify(kid)} in the key set`);
    }
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    await this.pending;
    const key = typeof kid === 'string' ? this.keys.get(kid) : this.onlyKey();
    if (key === undefined) throw unauthorized(`invalid token: no key ${JSON.stringify(kid)} in the key set`);
    return key;
  }

  private onlyKey(): string | undefined {
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private async fetch(): Promise<void> {
    let body: { keys?: unknown };
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = (await res.json()) as { keys?: unknown };
    } catch (err) {
      throw new ApiError(
        503,
        'SERVICE_UNAVAILABLE',
        `token keys unavailable (${(err as Error).message}); retry`,
        {
          'retry-after': '5',
        },
      );
    }
    const keys = new Map<string, string>();
    for (const jwk of Array.isArray(body.keys) ? body.keys : []) {
      if (typeof jwk !== 'object' || jwk === null || (jwk as { use?: unknown }).use === 'enc') continue;
      try {
        const pem = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        const kid = (jwk as { kid?: unknown }).kid;
        keys.set(typeof kid === 'string' ? kid : `#${keys.size}`, pem);
      } catch {
        // a key of a type we cannot use: tokens naming it fail as unknown keys
      }
    }
    this.keys = keys;
    this.fetchedAt = Date.now();
  }
}

export async function authenticate(request: FastifyRequest): Promise<void> {
  if (request.principal) return; // already authenticated by an earlier hook
  const header = request.headers.authorization;
  if (!header || !/^Bearer\s+\S+/i.test(header)) {
    throw unauthorized('missing bearer token: send "Authorization: Bearer <token>"');
  }
  let claims: TokenClaims & { exp?: unknown };
  try {
    claims = await request.jwtVerify<TokenClaims & { exp?: unknown }>();
  } catch (err) {
    if (err instanceof ApiError) throw err; // e.g. the key set is unreachable: 503, not the caller's fault
    throw unauthorized(`invalid token: ${(err as Error).message}`);
  }
  const maxLifetime = request.server.tokenMaxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (typeof claims.exp === 'number' && claims.exp - Date.now() / 1000 > maxLifetime + 60) {
    throw unauthorized(
      `invalid token: it is valid for longer than this hub accepts (exp more than ${maxLifetime} s ahead; issue tokens of at most that lifetime)`,
    );
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

/** A route's `onRequest` hook (before the body is read): authenticates, then checks the grant. */
export function requireGrant(grant: Grant) {
  return async (request: FastifyRequest): Promise<void> => {
    await authenticate(request);
    if (!request.principal.grants.has(grant)) {
      throw forbidden(`token lacks the grant ${grant}`);
    }
  };
}

export interface DevTokenOptions {
  secret: string;
  issuer: string;
  /** Defaults to the services' default audience. */
  audience?: string;
  orgId: string;
  subject?: string;
  grants?: string[];
  expiresInSeconds?: number;
}

export const DEFAULT_AUDIENCE = 'erp-integration-hub';

/** Signs a development token (the local stack's `npm run token`). */
export function signToken(options: DevTokenOptions): string {
  const sign = createSigner({
    key: options.secret,
    algorithm: 'HS256',
    iss: options.issuer,
    aud: options.audience ?? DEFAULT_AUDIENCE,
    expiresIn: (options.expiresInSeconds ?? 12 * 3600) * 1000,
  });
  return sign({
    org_id: options.orgId,
    sub: options.subject ?? `dev-user@${options.orgId}`,
    grants: options.grants ?? [GRANTS.view, GRANTS.manage],
  });
}
