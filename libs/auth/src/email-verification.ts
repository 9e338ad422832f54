import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Email verification links: `<issuer>/verify-email?token=<user id>.<expiry>.<signature>`, where
 * the signature is HMAC-SHA256, under a server secret, of the user id, the email the link was
 * sent to and the expiry (Unix seconds). The email is not in the link: the server signs again
 * with the user's current email, so a link sent to an address the account no longer has, an
 * altered one, or one past its expiry proves nothing. Nothing is stored: verifying twice is
 * harmless, and a new link does not need the old one to be forgotten.
 *
 * The auth-server mails links; the operator CLI computes one (`verification-link`) from the same
 * secret it is given in its own environment, so that no link ever sits in a queue payload or a
 * reply stream in Redis.
 */

/** How long a link works: 24 h. */
export const EMAIL_VERIFICATION_TTL_S = 86_400;

/**
 * Stands in for EMAIL_VERIFICATION_SECRET outside production (the auth-server and the CLI use
 * the same one, so that `npm start` and the tests need no setup). Production requires a real one.
 */
export const DEVELOPMENT_EMAIL_VERIFICATION_SECRET =
  'development-only-email-verification-secret-do-not-use';

const USER_ID = /^usr_[0-9A-Za-z]{1,64}$/;

function signature(secret: string, userId: string, email: string, expires: number): Buffer {
  return createHmac('sha256', secret)
    .update(`email-verification\n${userId}\n${email}\n${expires}`)
    .digest();
}

/** A signed token for `user`'s current email, valid until `expiresAt`. */
export function emailVerificationToken(
  user: { id: string; email: string },
  secret: string,
  expiresAt: Date,
): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  const sig = signature(secret, user.id, user.email, expires).toString('base64url');
  return `${user.id}.${expires}.${sig}`;
}

/** The link to mail: the auth-server's page that verifies the token. */
export function emailVerificationUrl(issuer: string, token: string): string {
  return `${issuer.replace(/\/$/, '')}/verify-email?token=${encodeURIComponent(token)}`;
}

/** A token's parts, or `null` when it does not have the shape of one. */
export function parseEmailVerificationToken(
  token: string,
): { userId: string; expires: number; sig: Buffer } | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [userId, expiresText, sigText] = parts;
  if (!USER_ID.test(userId) || !/^\d{1,12}$/.test(expiresText)) return null;
  if (!/^[A-Za-z0-9_-]{43}$/.test(sigText)) return null;
  return { userId, expires: Number(expiresText), sig: Buffer.from(sigText, 'base64url') };
}

export type EmailVerificationCheck = 'valid' | 'expired' | 'invalid';

/**
 * Whether a parsed token was signed for this user and `email` (its current address), and is
 * not past its expiry. The signature is checked first and in constant time, so an altered
 * expiry is `invalid`, not `expired`.
 */
export function checkEmailVerificationToken(
  parsed: { userId: string; expires: number; sig: Buffer },
  email: string,
  secret: string,
  now = new Date(),
): EmailVerificationCheck {
  const expected = signature(secret, parsed.userId, email, parsed.expires);
  if (parsed.sig.length !== expected.length || !timingSafeEqual(parsed.sig, expected)) {
    return 'invalid';
  }
  return parsed.expires * 1000 <= now.getTime() ? 'expired' : 'valid';
}
