/**
 * The interoperability run: a real, independent OAuth client library (openid-client 6) against
 * the auth-server, in its own process as a third-party app would be (run with
 * `node -r @swc-node/register`, like the apps, where ESM-only openid-client loads through
 * require(esm)). The e2e test starts it and checks the JSON it prints; nothing here depends on
 * how Jest loads ES modules.
 *
 * Input (JSON on standard input): issuer, client_id, client_secret, redirect_uri, email, password.
 * Output (JSON on standard output): what each step returned.
 */
import { authorizeInBrowser, Browser } from '@cap/testing';

interface Input {
  issuer: string;
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  email: string;
  password: string;
}

async function readInput(): Promise<Input> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input;
}

async function main(): Promise<void> {
  const input = await readInput();
  const client = await import('openid-client');

  // Discovery: RFC 8414 metadata at /.well-known/oauth-authorization-server.
  const config = await client.discovery(
    new URL(input.issuer),
    input.client_id,
    undefined,
    client.ClientSecretBasic(input.client_secret),
    { execute: [client.allowInsecureRequests], algorithm: 'oauth2' },
  );

  // Authorization URL with PKCE (S256), state and nonce.
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: input.redirect_uri,
    scope: 'openid email offline_access projects:read usage:read',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  // Sign-in and consent, over HTTP, as a person in a browser.
  const { callback } = await authorizeInBrowser(new Browser(), authorizationUrl.href, {
    email: input.email,
    password: input.password,
    redirectUri: input.redirect_uri,
  });

  // Code exchange: openid-client checks state, iss, PKCE, and the ID token (signature, nonce).
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const introspectionBefore = await client.tokenIntrospection(config, tokens.refresh_token!);

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
  await client.tokenRevocation(config, refreshed.refresh_token!);
  const refreshAfterRevocation = await client
    .refreshTokenGrant(config, refreshed.refresh_token!)
    .then(
      () => 'accepted',
      (err: { error?: string }) => err.error ?? 'failed',
    );

  process.stdout.write(
    `${JSON.stringify({
      server_metadata: config.serverMetadata(),
      authorization_url: authorizationUrl.href,
      callback: callback.href,
      tokens: {
        access_token: tokens.access_token,
        token_type: tokens.token_type,
        expires_in: tokens.expires_in,
        scope: tokens.scope,
        refresh_token: tokens.refresh_token,
        id_token_claims: tokens.claims(),
      },
      introspection_before: introspectionBefore,
      refreshed: {
        access_token: refreshed.access_token,
        refresh_token: refreshed.refresh_token,
        scope: refreshed.scope,
      },
      introspection_after: {
        refresh_token: await client.tokenIntrospection(config, refreshed.refresh_token!),
        access_token: await client.tokenIntrospection(config, refreshed.access_token),
        first_refresh_token: await client.tokenIntrospection(config, tokens.refresh_token!),
      },
      refresh_after_revocation: refreshAfterRevocation,
    })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
