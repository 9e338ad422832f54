import { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { OIDCContext, Provider } from 'oidc-provider';
import type { Logger } from 'pino';
import { EventBus } from '@cap/queue';
import { AuthServerConfig, CONFIG, LOGGER } from '../config';
import { ClientsRepository } from '../clients/clients.repository';
import {
  SIGNING_ALG,
  SIGNING_KEYS_CHANGED,
  SigningKeySet,
  SigningKeysService,
} from '../signing-keys/signing-keys.service';
import { PAGE_CSP } from '../pages/views';
import { UsersRepository } from '../users/users.repository';
import { useHashedClientSecrets } from './client-secret';
import { loadJose, loadOidcProvider } from './esm-modules';
import { GrantsRepository } from './grants.repository';
import { AccessTokenClaims, jwtAccessTokenMiddleware } from './jwt-access-tokens';
import { adapterFactory } from './oidc-adapter';
import { clientMetadata, OAUTH_ROUTES, oidcConfiguration } from './oidc-configuration';
import { RedisArtifactStore } from './redis-artifacts.store';
import { DEFAULT_SCOPE, OFFERED_SCOPES } from './scopes';
import { clientAuthenticated, TokenThrottle } from './token-throttle';
import { TokenRevocationService } from './token-revocation.service';
import { CLAIMED_CLIENT, CLIENT_ADDRESS, REDIS_ARTIFACTS, TokenRequestMessage } from './tokens';

type OidcModule = Awaited<ReturnType<typeof loadOidcProvider>>;
type JoseModule = Awaited<ReturnType<typeof loadJose>>;

interface Current {
  provider: Provider;
  callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  keys: SigningKeySet;
  verifier: ReturnType<JoseModule['createLocalJWKSet']>;
  fingerprint: string;
}

/**
 * The oidc-provider instance. It is built from the signing keys in Postgres and rebuilt when
 * they change (a rotation anywhere publishes SIGNING_KEYS_CHANGED; a timer re-reads them too),
 * so every replica signs with the newest key and publishes the retired ones until the tokens
 * they signed have expired.
 */
@Injectable()
export class OidcProviderService implements OnModuleInit, OnModuleDestroy {
  private oidc?: OidcModule;
  private jose?: JoseModule;
  private current?: Current;
  private timer?: NodeJS.Timeout;
  private reloading?: Promise<void>;

  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(REDIS_ARTIFACTS) private readonly artifacts: RedisArtifactStore,
    private readonly signingKeys: SigningKeysService,
    private readonly grants: GrantsRepository,
    private readonly clients: ClientsRepository,
    private readonly users: UsersRepository,
    private readonly revocation: TokenRevocationService,
    private readonly events: EventBus,
    private readonly throttle: TokenThrottle,
  ) {}

  async onModuleInit(): Promise<void> {
    this.oidc = await loadOidcProvider();
    this.jose = await loadJose();
    await this.signingKeys.ensureSigningKey();
    await this.reload();
    await this.events.subscribe(SIGNING_KEYS_CHANGED, () => this.reloadInBackground());
    this.timer = setInterval(
      () => this.reloadInBackground(),
      this.config.SIGNING_KEYS_REFRESH_S * 1000,
    );
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  private get state(): Current {
    if (!this.current) throw new Error('oidc-provider is not initialised');
    return this.current;
  }

  get provider(): Provider {
    return this.state.provider;
  }

  /** Hands a request to oidc-provider (Node's req and res; it writes the response). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return this.state.callback(req, res);
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  /** A retired key stays published this long: every token it signed has expired by then. */
  private get retentionS(): number {
    return this.config.ACCESS_TOKEN_TTL_S + 60;
  }

  private reloadInBackground(): void {
    this.reload().catch((err: unknown) =>
      this.logger.error({ err }, 'could not reload the signing keys'),
    );
  }

  /** Re-reads the keys; builds a new provider when the signer or the published set changed. */
  async reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const keys = await this.signingKeys.load(this.retentionS);
        const fingerprint = [keys.signingKid, ...keys.publicKeys.map((k) => k.kid)].join(' ');
        if (fingerprint === this.current?.fingerprint) return;
        this.current = this.build(keys, fingerprint);
        this.logger.info(
          { signing_kid: keys.signingKid, published: keys.publicKeys.length },
          'signing keys loaded',
        );
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** Verifies an access token this server issued; `null` when it is not one, or expired. */
  async verifyAccessToken(token: string): Promise<AccessTokenClaims | null> {
    const { verifier } = this.state;
    try {
      const { payload } = await this.jose!.jwtVerify(token, verifier, {
        issuer: this.config.ISSUER,
        audience: this.config.API_AUDIENCE,
        typ: 'at+jwt',
        algorithms: [SIGNING_ALG],
      });
      if (typeof payload.jti !== 'string' || typeof payload.client_id !== 'string') return null;
      return payload as unknown as AccessTokenClaims;
    } catch {
      return null;
    }
  }

  private build(keys: SigningKeySet, fingerprint: string): Current {
    const { Provider, errors } = this.oidc!;
    const adapter = adapterFactory({
      artifacts: this.artifacts,
      grants: this.grants,
      clients: this.clients,
      revocation: this.revocation,
      clientMetadata,
      invalidGrant: (description) => new errors.InvalidGrant(description),
    });
    const provider = new Provider(
      this.config.ISSUER,
      oidcConfiguration({
        config: this.config,
        keys,
        adapter,
        errors,
        findUser: (id) => this.users.findById(id),
        findLatestGrantId: (accountId, clientId) =>
          this.grants.findLatestGrantId(accountId, clientId),
        isFirstParty: async (clientId) =>
          (await this.clients.findRegistration(clientId))?.first_party === true,
      }),
    );
    // X-Forwarded-Proto and -Host (secure cookies, URLs) only behind a trusted proxy; the
    // client's address is set below from Fastify's, which picks the right hop.
    provider.proxy = this.config.TRUST_PROXY !== false;
    useHashedClientSecrets(provider);

    provider.use(async (ctx, next) => {
      const message = ctx.req as TokenRequestMessage;
      const address = message[CLIENT_ADDRESS];
      if (address) ctx.request.ip = address;
      const query = ctx.query;
      if (
        ctx.method === 'GET' &&
        ctx.path === OAUTH_ROUTES.authorization &&
        !query.scope &&
        !query.request_uri
      ) {
        ctx.query = { ...query, scope: DEFAULT_SCOPE };
      }
      await next();
      // Pages oidc-provider renders itself (errors, sign-out): same headers as ours.
      if (typeof ctx.body === 'string' && ctx.type.startsWith('text/html')) {
        ctx.set('Content-Security-Policy', PAGE_CSP);
        ctx.set('X-Frame-Options', 'DENY');
        ctx.set('Cache-Control', 'no-store');
      }
      const oidc = (ctx as { oidc?: OIDCContext }).oidc;
      // The token endpoint's budget (TokenThrottle): per client once it authenticated, else per
      // claimed client and address. Counted before the answer leaves, so the client's next
      // request sees it.
      if (oidc?.route === 'token') {
        const client = oidc.client;
        const counted =
          client && clientAuthenticated(ctx.status, ctx.body)
            ? this.throttle.count(client.clientId, client.clientAuthMethod === 'none', ctx.ip)
            : this.throttle.countFailure(message[CLAIMED_CLIENT] ?? client?.clientId ?? '', ctx.ip);
        await counted.catch((err: unknown) =>
          this.logger.warn({ err }, 'token request not counted'),
        );
      }
      // Metadata lists every scope a client may ask for, the API's included.
      if (oidc?.route === 'discovery' && ctx.status === 200 && typeof ctx.body === 'object') {
        (ctx.body as Record<string, unknown>).scopes_supported = [...OFFERED_SCOPES];
      }
    });
    provider.use(
      jwtAccessTokenMiddleware({
        verify: (token) => this.verifyAccessToken(token),
        revocation: this.revocation,
        grants: this.grants,
      }),
    );
    provider.on('server_error', (_ctx, err) =>
      this.logger.error({ err }, 'oidc-provider server error'),
    );

    const verifier = this.jose!.createLocalJWKSet({
      keys: keys.publicKeys,
    });
    return { provider, callback: provider.callback(), keys, verifier, fingerprint };
  }
}
