/** Nest injection tokens of the OAuth feature. */
export const OAUTH_REDIS = Symbol('OAUTH_REDIS');
export const REDIS_ARTIFACTS = Symbol('REDIS_ARTIFACTS');
