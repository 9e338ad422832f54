import type { IncomingMessage, ServerResponse } from 'node:http';

/** The cookies of a request, by name (the first of duplicates wins). */
export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    if (cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(part.slice(i + 1).trim()));
    } catch {
      // a malformed value is as good as none
    }
  }
  return cookies;
}

/**
 * Adds a Set-Cookie header to the raw response, keeping those oidc-provider may have set on it
 * (Fastify would replace a raw header it also sets).
 */
export function appendCookie(
  res: ServerResponse,
  name: string,
  value: string,
  options: { secure: boolean; maxAgeS?: number },
): void {
  const attributes = [
    `${name}=${encodeURIComponent(value)}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    ...(options.secure ? ['Secure'] : []),
    ...(options.maxAgeS !== undefined ? [`Max-Age=${options.maxAgeS}`] : []),
  ];
  res.appendHeader('Set-Cookie', attributes.join('; '));
}
