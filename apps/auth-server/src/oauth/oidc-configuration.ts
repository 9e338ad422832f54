import type {
  Account,
  AccessToken,
  Adapter,
  Client,
  ClientMetadata,
  ErrorOut,
  ClientCredentials,
  KoaContextWithOIDC,
} from 'oidc-provider';
import type * as OidcProvider from 'oidc-provider';
import { SCOPES, User } from '@cap/contracts';
import { AuthServerConfig } from '../config';
import { ClientRegistration } from '../clients/clients.repository';
import { errorPage, signedOutPage, signOutPage } from '../pages/views';
import { SIGNING_ALG, SigningKeySet } from '../signing-keys/signing-keys.service';
import { OIDC_SCOPES } from './scopes';

/** What token policies and extra claims are asked about. */
type AccessTokenLike = AccessToken | ClientCredentials;

/** Protocol routes, all under /oauth (discovery stays at /.well-known). */
export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  jwks: '/oauth/jwks',
  end_session: '/oauth/logout',
  pushed_authorization_request: '/oauth/par',
  userinfo: '/oauth/userinfo',
  registration: '/oauth/register',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

/** Where the sign-in and consent pages of an authorization request live. */
export const interactionPath = (uid: string) => `/interaction/${encodeURIComponent(uid)}`;

export interface OidcConfigurationInput {
  config: AuthServerConfig;
  keys: SigningKeySet;
  adapter: (model: string) => Adapter;
  errors: typeof OidcProvider.errors;
  findUser: (id: string) => Promise<User | null>;
  findLatestGrantId: (accountId: string, clientId: string) => Promise<string | undefined>;
  /** Whether the client is the operator's own (`oauth_clients.first_party`). */
  isFirstParty: (clientId: string) => Promise<boolean>;
}

/** What oidc-provider is told about a registered client. */
export function clientMetadata(client: ClientRegistration): ClientMetadata {
  const confidential = client.type === 'confidential' && client.secret_hash !== null;
  return {
    client_id: client.id,
    client_name: client.name,
    redirect_uris: client.redirect_uris,
    // Exact redirect URI matching, also for loopback URIs (a native client would ignore ports).
    application_type: 'web',
    response_types: ['code'],
    grant_types: confidential
      ? ['authorization_code', 'refresh_token', 'client_credentials']
      : ['authorization_code', 'refresh_token'],
    // A confidential client may use client_secret_basic or client_secret_post: oidc-provider
    // accepts either for a client registered with one of them.
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    // The SHA-256 of the secret, never the secret: see client-secret.ts.
    ...(confidential ? { client_secret: client.secret_hash ?? undefined } : {}),
    id_token_signed_response_alg: SIGNING_ALG,
  };
}

/**
 * oidc-provider's configuration. Access tokens are JWTs for one resource, the API
 * (`API_AUDIENCE`), which is also the default resource: a token request without `resource`
 * (as in the documentation's exchange) gets an access token for the API.
 */
export function oidcConfiguration(input: OidcConfigurationInput): Record<string, unknown> {
  const { config, keys, errors } = input;
  const audience = config.API_AUDIENCE;

  return {
    adapter: input.adapter,
    clients: [],
    jwks: { keys: keys.privateKeys },
    cookies: {
      keys: config.COOKIE_SECRETS,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    scopes: [...OIDC_SCOPES],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: SIGNING_ALG,
    },
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG] },
    allowOmittingSingleRegisteredRedirectUri: false,
    clockTolerance: 5,
    routes: OAUTH_ROUTES,
    // PKCE (S256 only, oidc-provider knows no other method) is required of public clients.
    pkce: {
      required: (_ctx: KoaContextWithOIDC, client: Client) => client.clientAuthMethod === 'none',
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client learns about its own tokens only.
        allowedPolicy: async (_ctx: KoaContextWithOIDC, client: Client, token: AccessTokenLike) =>
          token.clientId === client.clientId,
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: KoaContextWithOIDC, client: Client, token: AccessTokenLike) =>
          token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: KoaContextWithOIDC, form: string) => {
          ctx.type = 'html';
          ctx.body = signOutPage(form);
        },
        postLogoutSuccessSource: async (ctx: KoaContextWithOIDC) => {
          ctx.type = 'html';
          ctx.body = signedOutPage();
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx: KoaContextWithOIDC, _client: Client, oneOf?: string[]) =>
          oneOf ?? audience,
        // Refresh and code exchanges without `resource` get a token for the granted resource.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: KoaContextWithOIDC, resource: string) => {
          if (resource !== audience) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          return {
            scope: SCOPES.join(' '),
            audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: config.ACCESS_TOKEN_TTL_S,
            jwt: { sign: { alg: SIGNING_ALG, kid: keys.signingKid } },
          };
        },
      },
    },
    // `gid` lets a whole grant be revoked at the gateway (REVOKED_TOKEN_KEYS.grant);
    // `first_party` marks the operator's console, whose keys outlive its grant (Actor.first_party).
    extraTokenClaims: async (_ctx: KoaContextWithOIDC, token: AccessTokenLike) => {
      const claims: Record<string, unknown> = {};
      if ('grantId' in token && token.grantId) claims.gid = token.grantId;
      if ('accountId' in token && token.clientId && (await input.isFirstParty(token.clientId))) {
        claims.first_party = true;
      }
      return Object.keys(claims).length ? claims : undefined;
    },
    // API access is independent of the browser session: signing out does not revoke apps.
    expiresWithSession: async () => false,
    // Every client allowed the refresh_token grant gets one, `offline_access` or not.
    issueRefreshToken: async (_ctx: KoaContextWithOIDC, client: Client) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // Any revocation removes the grant too, so its id (`gid`) is never used again.
    revokeGrantPolicy: () => true,
    // The consent is remembered beyond the browser session: the newest grant of this user to
    // this client is found in Postgres.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, result, provider } = ctx.oidc;
      if (!client || !session) return undefined;
      const grantId =
        result?.consent?.grantId ??
        session.grantIdFor(client.clientId) ??
        (session.accountId
          ? await input.findLatestGrantId(session.accountId, client.clientId)
          : undefined);
      return grantId ? provider.Grant.find(grantId) : undefined;
    },
    findAccount: async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
      const user = await input.findUser(sub);
      if (!user) return undefined;
      return {
        accountId: user.id,
        claims: async () => ({
          sub: user.id,
          email: user.email,
          email_verified: false,
          ...(user.name ? { name: user.name } : {}),
        }),
      };
    },
    interactions: {
      url: async (_ctx: KoaContextWithOIDC, interaction: { uid: string }) =>
        interactionPath(interaction.uid),
    },
    clientBasedCORS: (_ctx: KoaContextWithOIDC, origin: string, client: Client) =>
      (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    ttl: {
      AccessToken: config.ACCESS_TOKEN_TTL_S,
      ClientCredentials: config.ACCESS_TOKEN_TTL_S,
      IdToken: config.ACCESS_TOKEN_TTL_S,
      AuthorizationCode: config.AUTH_CODE_TTL_S,
      RefreshToken: config.REFRESH_TOKEN_TTL_S,
      Grant: config.GRANT_TTL_S,
      Session: config.SESSION_TTL_S,
      Interaction: 3600,
    },
    // Errors shown to the user (a bad redirect_uri is never redirected to): our page, no detail
    // beyond oidc-provider's public description.
    renderError: async (ctx: KoaContextWithOIDC, out: ErrorOut) => {
      ctx.type = 'html';
      ctx.body = errorPage({
        title: 'This request cannot be completed',
        message: `${out.error}: ${out.error_description ?? 'the request is not valid'}`,
      });
    },
  };
}
