/**
 * The RFC 6750 `Authorization: Bearer` header: the one place it is read.
 */
export const UNAUTHENTICATED_MESSAGE =
  'Send a valid API key or access token as "Authorization: Bearer <token>".';

/**
 * The credential of an RFC 6750 `Authorization: Bearer <token>` header (scheme
 * case-insensitive), or `undefined`. Its characters are not checked here: every token the
 * platform accepts has a stricter shape of its own (an API key's, a JWT's), checked by whoever
 * resolves it, on a miss of their cache (a cached token was checked when it was first seen).
 * Tokens in query strings or bodies are not accepted: they leak into logs.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length < 8 || header.length > 8192) return undefined;
  if (header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  return header.slice(7).trim() || undefined;
}
