/**
 * Access-token verification against a real JWKS endpoint (served here over loopback) and the
 * real Redis: every forgery the issue lists is refused, revocation marks and events are obeyed.
 */
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';
import { DomainError, REVOKED_TOKEN_KEYS } from '@cap/contracts';
import { cleanRedisPrefix, eventually, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { looksLikeJwt, TokenVerifier } from './token-verifier';

const ISSUER = 'http://127.0.0.1:1/issuer';
const AUDIENCE = 'http://127.0.0.1:8080';
const prefix = testQueuePrefix();
let server: Server;
let jwksUrl: string;
let redis: Redis;
let keys: JWK[] = [];
/** While set, the JWKS endpoint answers 500 (the auth-server is in trouble). */
let jwksFailing = false;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signing: { privateKey: PrivateKey; kid: string };

async function newKey(kid: string) {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { pair, jwk };
}

beforeAll(async () => {
  const first = await newKey('k1');
  keys = [first.jwk];
  signing = { privateKey: first.pair.privateKey, kid: 'k1' };
  server = createServer((_req, res) => {
    if (jwksFailing) {
      res.statusCode = 500;
      return void res.end();
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  redis = new Redis(TEST_ENV.redisUrl);
});

afterAll(async () => {
  for (const v of verifiers) v.close();
  redis.disconnect();
  await cleanRedisPrefix(prefix);
  await new Promise((r) => server.close(r));
});

const verifiers: TokenVerifier[] = [];
function verifier(options: { jwksRefreshMs?: number } = {}): TokenVerifier {
  const created = new TokenVerifier(redis, {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl,
    prefix,
    cacheMax: 100,
    maxLifetimeS: 3_600,
    ...options,
  });
  verifiers.push(created);
  return created;
}

let counter = 0;
function claims(extra: Record<string, unknown> = {}) {
  counter += 1;
  return {
    sub: 'usr_abc',
    client_id: 'cli_xyz',
    scope: 'openid projects:read',
    jti: `jti-${counter}-${Date.now()}`,
    gid: `gid-${counter}`,
    ...extra,
  };
}

async function sign(
  extra: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  opts: { iss?: string; aud?: string; exp?: number | string } = {},
): Promise<string> {
  return new SignJWT(claims(extra))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signing.kid, ...header })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '15m')
    .sign(signing.privateKey);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

async function refused(v: TokenVerifier, token: string): Promise<void> {
  const result = v.verify(token);
  await expect(result).rejects.toBeInstanceOf(DomainError);
  await expect(result).rejects.toMatchObject({ code: 'invalid_token' });
}

describe('TokenVerifier', () => {
  it('accepts a valid at+jwt and maps its claims', async () => {
    const p = await verifier().verify(await sign());
    expect(p).toMatchObject({
      kind: 'oauth',
      user_id: 'usr_abc',
      client_id: 'cli_xyz',
      scopes: ['openid', 'projects:read'],
      rate_limit: null,
    });
    expect(p.expires_at).toBeGreaterThan(Date.now() / 1000);
  });

  it('treats a client-credentials token (sub is the client) as acting for no user', async () => {
    const p = await verifier().verify(await sign({ sub: 'cli_xyz' }));
    expect(p.user_id).toBeNull();
  });

  it('refuses alg none', async () => {
    const c = claims();
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...c, iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 })}.`;
    // An empty signature does not even look like a JWT to the gateway.
    expect(looksLikeJwt(token)).toBe(false);
    await refused(verifier(), `${token}AAAA`);
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const secret = new TextEncoder().encode(JSON.stringify(keys[0]));
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(secret);
    await refused(verifier(), token);
  });

  it('refuses an unknown kid, a wrong audience or issuer, an expired token, a wrong typ', async () => {
    const v = verifier();
    await refused(v, await sign({}, { kid: 'nope' }));
    await refused(v, await sign({}, {}, { aud: 'https://elsewhere.example' }));
    await refused(v, await sign({}, {}, { iss: 'https://evil.example' }));
    await refused(v, await sign({}, {}, { exp: Math.floor(Date.now() / 1000) - 60 }));
    await refused(v, await sign({}, { typ: 'JWT' }));
  });

  it('refuses a token signed by a key not in the JWKS', async () => {
    const stranger = await newKey('k1');
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(stranger.pair.privateKey);
    await refused(verifier(), token);
  });

  it('refuses a token whose jti or grant is marked revoked in Redis', async () => {
    const v = verifier();
    const t1 = await sign();
    const jti = JSON.parse(Buffer.from(t1.split('.')[1], 'base64url').toString()).jti;
    await redis.set(`${prefix}:${REVOKED_TOKEN_KEYS.jti(jti)}`, '1', 'EX', 60);
    await refused(v, t1);
    const t2 = await sign({ gid: 'grant-revoked' });
    await redis.set(`${prefix}:${REVOKED_TOKEN_KEYS.grant('grant-revoked')}`, '1', 'EX', 60);
    await refused(v, t2);
  });

  it('evicts a cached token on a revocation event, by jti or by grant', async () => {
    const v = verifier();
    const byJti = await sign();
    const p1 = await v.verify(byJti);
    v.onRevoked({ v: 1, jtis: [p1.token_id], grant_ids: [] });
    await refused(v, byJti);
    const byGrant = await sign({ gid: 'family-1' });
    await v.verify(byGrant);
    v.onRevoked({ v: 1, jtis: [], grant_ids: ['family-1'] });
    await refused(v, byGrant);
  });

  it('picks up a rotated signing key from the JWKS; old tokens keep working', async () => {
    const v = verifier();
    const old = await sign();
    await v.verify(old);
    const next = await newKey('k2');
    keys = [...keys, next.jwk];
    signing = { privateKey: next.pair.privateKey, kid: 'k2' };
    // At most one JWKS refetch a second: a new kid is accepted within that.
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(v.verify(await sign())).resolves.toMatchObject({ kind: 'oauth' });
    await expect(verifier().verify(old)).resolves.toMatchObject({ kind: 'oauth' });
  });
});

describe('security: token lifetime and signing keys that leave the JWKS', () => {
  const payloadOf = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, number>;

  /** A new signing key, published in the JWKS and used by `sign` from now on. */
  async function rotateTo(kid: string): Promise<void> {
    const next = await newKey(kid);
    keys = [...keys, next.jwk];
    signing = { privateKey: next.pair.privateKey, kid };
  }
  const unpublish = (kid: string) => {
    keys = keys.filter((k) => k.kid !== kid);
  };

  it('refuses a token whose lifetime (exp - iat) exceeds the maximum, accepts one at it', async () => {
    const v = verifier();
    const hour = await sign({}, {}, { exp: '1h' });
    expect(payloadOf(hour).exp - payloadOf(hour).iat).toBe(3_600);
    await expect(v.verify(hour)).resolves.toMatchObject({ kind: 'oauth' });
    await refused(v, await sign({}, {}, { exp: '2h' }));
    await refused(v, await sign({}, {}, { exp: '30d' }));
    // Back-dating iat does not help: the span is what counts, not what is left of it.
    const now = Math.floor(Date.now() / 1000);
    const backdated = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signing.kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now - 3 * 3_600)
      .setExpirationTime(now + 600)
      .sign(signing.privateKey);
    await refused(v, backdated);
  });

  it('drops cached tokens of a key that left the JWKS when a new kid refetches it', async () => {
    const v = verifier();
    await rotateTo('leaving-1');
    const old = await sign();
    await v.verify(old);
    expect(v.verifiedPrincipal(old)).toBeDefined();

    unpublish('leaving-1');
    await rotateTo('arriving-1');
    // At most one JWKS refetch a second: the new kid is fetched after that.
    await new Promise((r) => setTimeout(r, 1_100));
    await expect(v.verify(await sign())).resolves.toMatchObject({ kind: 'oauth' });

    expect(v.verifiedPrincipal(old)).toBeUndefined();
    await refused(v, old);
  });

  it('drops them on the periodic refresh too, with no new token to trigger it', async () => {
    const v = verifier({ jwksRefreshMs: 100 });
    await rotateTo('leaving-2');
    const old = await sign();
    await rotateTo('staying-2');
    const kept = await sign();
    await v.verify(old);
    await v.verify(kept);

    unpublish('leaving-2');
    expect((await eventually(() => v.verifiedPrincipal(old) === undefined, 3_000, 20)).ok).toBe(
      true,
    );
    expect(v.verifiedPrincipal(kept)).toBeDefined();
  });

  it('keeps its cached tokens when the JWKS cannot be fetched', async () => {
    const v = verifier();
    await rotateTo('steady-3');
    const token = await sign();
    await v.verify(token);
    jwksFailing = true;
    try {
      await v.refreshKeys();
    } finally {
      jwksFailing = false;
    }
    expect(v.verifiedPrincipal(token)).toBeDefined();
    await v.refreshKeys();
    expect(v.verifiedPrincipal(token)).toBeDefined();
    unpublish('steady-3');
    await v.refreshKeys();
    expect(v.verifiedPrincipal(token)).toBeUndefined();
  });
});
