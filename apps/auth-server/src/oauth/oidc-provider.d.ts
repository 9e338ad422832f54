/**
 * The part of oidc-provider 9's API this app uses. The package ships no type declarations;
 * these follow its documentation (docs/README.md) and source (lib/provider.js, lib/models).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** What an adapter stores: a model's payload, plain JSON. */
  export interface AdapterPayload {
    jti?: string;
    kind?: string;
    iat?: number;
    exp?: number;
    uid?: string;
    grantId?: string;
    accountId?: string;
    clientId?: string;
    consumed?: number | boolean;
    [key: string]: unknown;
  }

  /** Storage for one model (Session, Grant, RefreshToken, Client, …). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    redirect_uris: string[];
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: string;
    application_type?: 'web' | 'native';
    scope?: string;
    id_token_signed_response_alg?: string;
    [key: string]: unknown;
  }

  export class Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly clientSecret?: string;
    readonly clientAuthMethod: string;
    readonly redirectUris: string[];
    compareClientSecret(actual: string): Promise<boolean> | boolean;
    grantTypeAllowed(type: string): boolean;
    static find(id: string): Promise<Client | undefined>;
  }

  export class Grant {
    constructor(properties?: { accountId?: string; clientId?: string });
    readonly jti: string;
    accountId?: string;
    clientId?: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
    static find(id: string, options?: { ignoreExpiration?: boolean }): Promise<Grant | undefined>;
  }

  export interface Session {
    accountId?: string;
    uid: string;
    grantIdFor(clientId: string): string | undefined;
  }

  export interface PromptDetail {
    /** `login` or `consent` with the default policy. */
    name: string;
    reasons: string[];
    details: {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
      [key: string]: unknown;
    };
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: PromptDetail;
    readonly params: Record<string, unknown> & { client_id?: string; scope?: string };
    readonly session?: { accountId: string; uid: string; cookie: string };
    readonly grantId?: string;
    readonly returnTo: string;
    readonly exp: number;
  }

  export interface InteractionResults {
    login?: { accountId: string; remember?: boolean; ts?: number; amr?: string[]; acr?: string };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
    [key: string]: unknown;
  }

  export interface AccessTokenLike {
    readonly kind: string;
    readonly jti: string;
    readonly grantId?: string;
    readonly clientId?: string;
    readonly accountId?: string;
  }

  export interface OIDCContext {
    readonly route: string;
    readonly params?: Record<string, unknown>;
    readonly client?: Client;
    readonly session?: Session;
    readonly result?: InteractionResults;
    readonly entities: Record<string, unknown>;
    readonly provider: Provider;
  }

  /** The Koa context oidc-provider hands to middleware and configuration helpers. */
  export interface KoaContextWithOIDC {
    oidc: OIDCContext;
    status: number;
    body: unknown;
    type: string;
    readonly method: string;
    readonly path: string;
    readonly secure: boolean;
    /** The client's address (the proxy's `X-Forwarded-For` when `provider.proxy` is on). */
    readonly ip: string;
    /** The parsed query string; assigning it rewrites the request's query. */
    query: Record<string, string | string[] | undefined>;
    readonly headers: Record<string, string | string[] | undefined>;
    set(field: string, value: string): void;
  }

  export type Middleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

  export interface ErrorOut {
    error: string;
    error_description?: string;
    state?: string;
    [key: string]: unknown;
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>>;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    readonly Grant: typeof Grant;
    readonly Client: typeof Client;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: Middleware): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
  }

  export class OIDCProviderError extends Error {
    constructor(status: number, message: string);
    readonly status: number;
    readonly statusCode: number;
    readonly error: string;
    error_description?: string;
  }

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidGrant: new (description?: string) => OIDCProviderError;
    InvalidTarget: new (description?: string) => OIDCProviderError;
    InvalidRequest: new (description?: string) => OIDCProviderError;
    SessionNotFound: new (description?: string) => OIDCProviderError;
    AccessDenied: new (description?: string) => OIDCProviderError;
  };

  export default Provider;
}
