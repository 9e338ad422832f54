import { newIdempotencyKey } from './core.js';

/** Options of {@link OAuth}. */
export interface OAuthOptions {
  /** The authorization server, e.g. `https://auth.cloudplatform.dev`. */
  issuer: string;
  clientId: string;
  /** A confidential client's secret (sent as `client_secret`, form-encoded). */
  clientSecret?: string;
  redirectUri: string;
  fetch?: typeof fetch;
}

/** What the token endpoint answers (RFC 6749 §5.1). */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
}

/** An OAuth error answer (`{"error", "error_description"}`, RFC 6749 §5.2). */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly errorDescription: string | undefined,
  ) {
    super(errorDescription ? `${error}: ${errorDescription}` : error);
    this.name = 'OAuthError';
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(bytes = 32): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return base64url(buffer);
}

/** The S256 challenge of a PKCE verifier (RFC 7636 §4.2). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(verifier),
  );
  return base64url(new Uint8Array(digest));
}

/**
 * The authorization-code flow with PKCE (S256) for a third-party app: the URL to send the user
 * to, the code exchange (form-encoded, as the documentation shows), refresh and revocation.
 * Use the access token with `new CloudApi({ accessToken })`.
 */
export class OAuth {
  private readonly issuer: string;

  constructor(private readonly options: OAuthOptions) {
    this.issuer = options.issuer.replace(/\/+$/, '');
  }

  /**
   * Where to send the user. Keep `state` and `codeVerifier` (in the session) until the
   * callback: check `state` there, and pass `codeVerifier` to {@link exchangeCode}.
   */
  async authorizationUrl(
    params: { scope: string | string[]; state?: string; extra?: Record<string, string> } = {
      scope: 'openid',
    },
  ): Promise<{ url: string; state: string; codeVerifier: string }> {
    const state = params.state ?? newIdempotencyKey();
    const codeVerifier = randomString();
    const url = new URL(`${this.issuer}/oauth/authorize`);
    const query: Record<string, string> = {
      response_type: 'code',
      client_id: this.options.clientId,
      redirect_uri: this.options.redirectUri,
      scope: Array.isArray(params.scope) ? params.scope.join(' ') : params.scope,
      state,
      code_challenge: await pkceChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...params.extra,
    };
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return { url: url.toString(), state, codeVerifier };
  }

  /**
   * The `state`-checked `code` of a callback URL: throws {@link OAuthError} on an `error`
   * answer or a `state` that is not the one sent.
   */
  codeFromCallback(callbackUrl: string, expectedState: string): string {
    const params = new URL(callbackUrl).searchParams;
    const error = params.get('error');
    if (error) throw new OAuthError(400, error, params.get('error_description') ?? undefined);
    if (params.get('state') !== expectedState) {
      throw new OAuthError(400, 'invalid_state', 'The callback state is not the one sent.');
    }
    const code = params.get('code');
    if (!code) throw new OAuthError(400, 'invalid_request', 'The callback has no code.');
    return code;
  }

  exchangeCode(params: { code: string; codeVerifier: string }): Promise<TokenSet> {
    return this.token({
      grant_type: 'authorization_code',
      code: params.code,
      redirect_uri: this.options.redirectUri,
      code_verifier: params.codeVerifier,
    });
  }

  /** New tokens for a refresh token (the platform rotates it: keep the new one). */
  refresh(refreshToken: string, params: { scope?: string } = {}): Promise<TokenSet> {
    return this.token({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      ...(params.scope ? { scope: params.scope } : {}),
    });
  }

  /** Revokes an access or refresh token (RFC 7009); revoking an unknown token also succeeds. */
  async revoke(token: string, tokenTypeHint?: 'access_token' | 'refresh_token'): Promise<void> {
    await this.post('/oauth/revoke', {
      token,
      ...(tokenTypeHint ? { token_type_hint: tokenTypeHint } : {}),
    });
  }

  private async token(form: Record<string, string>): Promise<TokenSet> {
    return (await this.post('/oauth/token', form)) as TokenSet;
  }

  private async post(path: string, form: Record<string, string>): Promise<unknown> {
    const body = new URLSearchParams({
      ...form,
      client_id: this.options.clientId,
      ...(this.options.clientSecret ? { client_secret: this.options.clientSecret } : {}),
    });
    const doFetch = this.options.fetch ?? globalThis.fetch;
    const res = await doFetch(`${this.issuer}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Accept: 'application/json',
      },
      body: body.toString(),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = {};
    }
    if (!res.ok) {
      throw new OAuthError(
        res.status,
        typeof json.error === 'string' ? json.error : `http_${res.status}`,
        typeof json.error_description === 'string' ? json.error_description : undefined,
      );
    }
    return json;
  }
}
