import { DomainError } from '@cap/contracts';

/** At most this many redirect URIs per client. */
export const MAX_REDIRECT_URIS = 10;
const MAX_URI_LENGTH = 2000;
/** Hosts for which plain http is allowed: the machine the app runs on (RFC 8252 §7.3). */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Why `uri` cannot be a redirect URI, or `null` when it can. URIs are matched exactly, character
 * for character, at authorization time, so they are checked here and stored as given.
 */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length === 0) return 'must not be empty';
  if (uri.length > MAX_URI_LENGTH) return `must be at most ${MAX_URI_LENGTH} characters`;
  // Whitespace or control characters would make "exact match" depend on who trims what.
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain spaces or control characters';
  if (uri.includes('*')) return 'must not contain wildcards';
  if (uri.includes('#')) return 'must not contain a fragment';
  const url = URL.parse(uri);
  if (!url || !/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return 'must be an absolute URL';
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.protocol === 'https:') return url.hostname ? null : 'must name a host';
  if (url.protocol === 'http:') {
    return LOOPBACK_HOSTS.has(url.hostname)
      ? null
      : 'must use https (http is allowed only for 127.0.0.1, [::1] and localhost)';
  }
  return 'must use https (http is allowed only for 127.0.0.1, [::1] and localhost)';
}

/**
 * The redirect URIs of a new client: 1 to 10 valid, distinct URIs. Throws `invalid_request`
 * naming the first problem.
 */
export function validateRedirectUris(uris: unknown): string[] {
  if (!Array.isArray(uris) || uris.length === 0) {
    throw new DomainError('invalid_request', 'Give at least one redirect URI.', {
      param: 'redirect_uris',
    });
  }
  if (uris.length > MAX_REDIRECT_URIS) {
    throw new DomainError(
      'invalid_request',
      `A client can have at most ${MAX_REDIRECT_URIS} redirect URIs.`,
      { param: 'redirect_uris' },
    );
  }
  const seen = new Set<string>();
  for (const [i, uri] of uris.entries()) {
    const problem = typeof uri === 'string' ? redirectUriProblem(uri) : 'must be a string';
    if (problem) {
      throw new DomainError('invalid_request', `Redirect URI ${i + 1} ${problem}.`, {
        param: 'redirect_uris',
      });
    }
    if (seen.has(uri as string)) {
      throw new DomainError('invalid_request', `Redirect URI ${i + 1} is listed twice.`, {
        param: 'redirect_uris',
      });
    }
    seen.add(uri as string);
  }
  return [...seen];
}
