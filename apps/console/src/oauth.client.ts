import { createHash } from 'node:crypto';
import { SCOPES } from '@cap/contracts';
import { randomToken } from './session.store';

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

/** Thrown for every failure of the OAuth exchange; shown to the user, never as a 500. */
export class SignInError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const CONSOLE_SCOPES = ['openid', ...SCOPES].join(' ');

export function pkcePair() {
  const verifier = randomToken(48);
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** The console's side of the authorization-code flow with PKCE (a public client: no secret). */
export class OAuthClient {
  constructor(
    private readonly issuer: string,
    private readonly clientId: string,
    readonly redirectUri: string,
  ) {}

  authorizeUrl(state: string, challenge: string): string {
    const url = new URL('/oauth/authorize', this.issuer);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.clientId,
      redirect_uri: this.redirectUri,
      scope: CONSOLE_SCOPES,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  signUpUrl(): string {
    return new URL('/signup', this.issuer).toString();
  }

  exchangeCode(code: string, verifier: string): Promise<TokenSet> {
    return this.token({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: this.redirectUri,
    });
  }

  refresh(refreshToken: string): Promise<TokenSet> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** RFC 7009: failures are ignored (the session is ended locally either way). */
  async revoke(token: string, hint: 'access_token' | 'refresh_token'): Promise<boolean> {
    try {
      const res = await fetch(new URL('/oauth/revoke', this.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: hint, client_id: this.clientId }),
        signal: AbortSignal.timeout(5_000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  private async token(form: Record<string, string>): Promise<TokenSet> {
    let res: Response;
    try {
      res = await fetch(new URL('/oauth/token', this.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ ...form, client_id: this.clientId }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch {
      throw new SignInError('auth_unavailable', 'The sign-in service did not answer. Try again.');
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok || typeof body.access_token !== 'string') {
      const description = typeof body.error_description === 'string' ? body.error_description : '';
      throw new SignInError(
        typeof body.error === 'string' ? body.error : 'token_error',
        `The sign-in service refused the exchange${description ? `: ${description}` : '.'}`,
      );
    }
    return {
      access_token: body.access_token,
      refresh_token: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
      expires_in: typeof body.expires_in === 'number' ? body.expires_in : 300,
    };
  }
}
