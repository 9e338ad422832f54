import { OAuthClientType, SCOPES } from '@cap/contracts';
import { fetchTrusting } from './api';
import { authorizationUrl, authorizeInBrowser, Browser, pkcePair } from './browser';
import { TestPlatform } from './platform';

/** The password `TestPlatform.tenant` gives its users. */
export const TENANT_PASSWORD = 'a long enough password';

/**
 * The operator CLI, retried once when no reply came in time: a request/reply client can miss
 * the reply of a job answered before its event stream is read (BullMQ's QueueEvents '$' race).
 */
export async function adminWithRetry<T = unknown>(
  platform: TestPlatform,
  args: string[],
  stdin = '',
): Promise<T> {
  try {
    return await platform.admin<T>(args, stdin);
  } catch (err) {
    if (!String(err).includes('upstream_timeout')) throw err;
    process.stderr.write(`admin ${args[0]}: no reply, retrying once\n`);
    return platform.admin<T>(args, stdin);
  }
}

/** `Authorization: Basic` for a client (RFC 6749 §2.3.1: both parts form-encoded first). */
export function clientSecretBasic(clientId: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/** A form POST to `<issuer>/oauth/token` (sent with `send`: `fetchTrusting(ca)` over HTTPS). */
export function tokenRequest(
  issuer: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
  send: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<Response> {
  return send(`${issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

export interface OAuthClientCreated {
  id: string;
  name: string;
  type: OAuthClientType;
  redirect_uris: string[];
  client_secret?: string;
}

export interface AccessTokenGrant {
  access_token: string;
  /** The refresh token issued with it (every client allowed the grant gets one). */
  refresh_token?: string;
  /** Issued when `openid` was asked for. */
  id_token?: string;
  client: OAuthClientCreated;
  /** The access token's scopes as the token endpoint answered them. */
  scope: string;
}

/**
 * An OAuth access token for the gateway, obtained as a third-party app would: a confidential
 * client (`client`, or one registered now by `clientOwner`, by default the user, redirecting to
 * https://app.example.com/callback), the authorization-code flow with PKCE
 * (S256) through the auth-server's sign-in and consent pages, then the code exchanged at
 * `/oauth/token` with `client_secret_post`. Scopes default to `openid` plus every API scope.
 * Over HTTPS, trusting the platform's certificate, when the platform serves HTTPS.
 */
export async function oauthAccessToken(
  platform: TestPlatform,
  user: { email: string; password?: string },
  options: {
    scopes?: readonly string[];
    clientOwner?: string;
    /** An existing confidential client to use instead of registering one. */
    client?: OAuthClientCreated;
  } = {},
): Promise<AccessTokenGrant> {
  const client =
    options.client ??
    (await adminWithRetry<OAuthClientCreated>(platform, [
      'create-client',
      '--owner',
      options.clientOwner ?? user.email,
      '--name',
      'Test third-party app',
      '--redirect-uri',
      'https://app.example.com/callback',
    ]));
  const redirectUri = client.redirect_uris[0];
  const issuer = platform.url('auth-server');
  const { verifier, challenge } = pkcePair();
  const state = Math.random().toString(36).slice(2);
  const url = authorizationUrl(issuer, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: redirectUri,
    scope: (options.scopes ?? ['openid', ...SCOPES]).join(' '),
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const send = platform.ca ? fetchTrusting(platform.ca) : fetch;
  const { callback } = await authorizeInBrowser(new Browser(send), url, {
    email: user.email,
    password: user.password ?? TENANT_PASSWORD,
    redirectUri,
  });
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) {
    throw new Error(`authorization failed: ${callback.toString()}`);
  }
  const res = await tokenRequest(
    issuer,
    {
      grant_type: 'authorization_code',
      code,
      client_id: client.id,
      client_secret: client.client_secret ?? '',
      redirect_uri: redirectUri,
      code_verifier: verifier,
    },
    {},
    send,
  );
  const body = (await res.json()) as {
    access_token?: string;
    refresh_token?: string;
    id_token?: string;
    scope?: string;
  };
  if (res.status !== 200 || !body.access_token) {
    throw new Error(`token exchange answered ${res.status}: ${JSON.stringify(body)}`);
  }
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    id_token: body.id_token,
    client,
    scope: body.scope ?? '',
  };
}
