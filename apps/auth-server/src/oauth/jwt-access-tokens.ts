import type { OIDCContext, Provider } from 'oidc-provider';
import { GrantsRepository } from './grants.repository';
import { TokenRevocationService } from './token-revocation.service';

/** What `provider.use` takes (Koa middleware; `ctx.oidc` exists on oidc-provider's routes). */
export type Middleware = Parameters<Provider['use']>[0];

/** The claims of a verified access token this server issued. */
export interface AccessTokenClaims {
  jti: string;
  sub: string;
  client_id: string;
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
  scope?: string;
  gid?: string;
}

export interface JwtAccessTokenDependencies {
  /** Verifies signature (our keys), issuer, audience, `typ` and expiry; `null` if any fails. */
  verify: (token: string) => Promise<AccessTokenClaims | null>;
  revocation: TokenRevocationService;
  grants: GrantsRepository;
}

const isOAuthError = (body: unknown, error: string) =>
  typeof body === 'object' && body !== null && (body as { error?: unknown }).error === error;

/**
 * oidc-provider refuses to revoke or introspect JWT access tokens (`unsupported_token_type`):
 * it keeps no record of them. Ours carry a `jti` and a grant id, and revocation is a Redis mark
 * the gateways honour, so this completes both endpoints for them. It runs after oidc-provider
 * has authenticated the client and answered, and only replaces that one answer.
 *
 * - Revocation (RFC 7009): a valid token issued to the calling client is revoked with its grant
 *   (as oidc-provider does for its own tokens); anything else is a silent 200.
 * - Introspection (RFC 7662): active only if the signature, issuer, audience and expiry hold,
 *   neither the token nor its grant was revoked, and the grant still exists; a client only
 *   learns about its own tokens.
 */
export function jwtAccessTokenMiddleware(deps: JwtAccessTokenDependencies): Middleware {
  return async (ctx, next) => {
    await next();
    // `ctx.oidc` exists only on oidc-provider's own routes.
    const oidc = (ctx as { oidc?: OIDCContext }).oidc;
    const route = oidc?.route;
    if (route !== 'revocation' && route !== 'introspection') return;
    if (ctx.status !== 400 || !isOAuthError(ctx.body, 'unsupported_token_type')) return;
    const client = oidc?.client;
    const token = oidc?.params?.token;
    if (!client || typeof token !== 'string') return;

    const claims = await deps.verify(token);
    const own = claims !== null && claims.client_id === client.clientId;
    if (route === 'revocation') {
      if (own) await deps.revocation.revokeAccessToken(claims.jti, claims.gid);
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    const active =
      own &&
      !(await deps.revocation.isRevoked(claims.jti, claims.gid)) &&
      (!claims.gid || (await deps.grants.grantExists(claims.gid)));
    ctx.status = 200;
    ctx.body = active
      ? {
          active: true,
          token_type: 'Bearer',
          client_id: claims.client_id,
          sub: claims.sub,
          scope: claims.scope,
          exp: claims.exp,
          iat: claims.iat,
          iss: claims.iss,
          aud: claims.aud,
          jti: claims.jti,
          ...(claims.gid ? { gid: claims.gid } : {}),
        }
      : { active: false };
  };
}
