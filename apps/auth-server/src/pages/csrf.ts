import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendCookie, readCookies } from './cookies';

const COOKIE = 'cap_csrf';
const BROWSER_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/**
 * CSRF protection of the auth-server's forms. Each browser gets a random token in an HttpOnly,
 * SameSite=Lax cookie; each form carries an HMAC of that token and of what the form is for (a
 * given interaction, or sign-up). A request from another site cannot read the cookie, so cannot
 * compute the field; a field copied from one interaction does not fit another.
 */
export class Csrf {
  constructor(
    private readonly secrets: readonly string[],
    private readonly secureCookies: boolean,
  ) {}

  private mac(secret: string, browserToken: string, purpose: string): Buffer {
    return createHmac('sha256', secret).update(`${browserToken}\n${purpose}`).digest();
  }

  /** The form field for `purpose`; sets the browser cookie on `res` when it has none yet. */
  fieldFor(req: IncomingMessage, res: ServerResponse, purpose: string): string {
    let browserToken = readCookies(req).get(COOKIE);
    if (!browserToken || !BROWSER_TOKEN.test(browserToken)) {
      browserToken = randomBytes(32).toString('base64url');
      appendCookie(res, COOKIE, browserToken, { secure: this.secureCookies });
    }
    return this.mac(this.secrets[0], browserToken, purpose).toString('base64url');
  }

  /** Whether `field` is the token this browser was given for `purpose` (under any secret). */
  verify(req: IncomingMessage, purpose: string, field: unknown): boolean {
    const browserToken = readCookies(req).get(COOKIE);
    if (!browserToken || !BROWSER_TOKEN.test(browserToken) || typeof field !== 'string') {
      return false;
    }
    const presented = Buffer.from(field, 'base64url');
    return this.secrets.some((secret) => {
      const expected = this.mac(secret, browserToken, purpose);
      return presented.length === expected.length && timingSafeEqual(presented, expected);
    });
  }
}
