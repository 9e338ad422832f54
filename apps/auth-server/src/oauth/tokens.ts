import type { IncomingMessage } from 'node:http';

/** Nest injection tokens of the OAuth feature. */
export const OAUTH_REDIS = Symbol('OAUTH_REDIS');
export const REDIS_ARTIFACTS = Symbol('REDIS_ARTIFACTS');

/** Fastify's `req.ip` (TRUST_PROXY honoured), for oidc-provider's `ctx.ip`. */
export const CLIENT_ADDRESS = Symbol('client address');
/** The client a token request names (maybe ''), authenticated or not. */
export const CLAIMED_CLIENT = Symbol('claimed client');
/** What the HTTP layer hands oidc-provider with a request, besides the request itself. */
export type TokenRequestMessage = IncomingMessage & {
  body?: string;
  [CLIENT_ADDRESS]?: string;
  [CLAIMED_CLIENT]?: string;
};
