import { Inject, Injectable } from '@nestjs/common';
import {
  checkEmailVerificationToken,
  EMAIL_VERIFICATION_TTL_S,
  emailVerificationToken,
  emailVerificationUrl,
  parseEmailVerificationToken,
} from '@cap/auth';
import { DomainError } from '@cap/contracts';
import { AuthServerConfig, CONFIG } from '../config';
import { Mailer } from '../mail/mailer';
import { page, PageResult } from '../pages/page-response';
import { emailVerifiedPage } from '../pages/views';
import { UsersRepository } from '../users/users.repository';

const INVALID =
  'This verification link is not valid: it was altered, or it was sent to an address this ' +
  'account no longer has. Use the newest link you received.';
const EXPIRED = 'This verification link has expired (links work for 24 hours). Ask for a new one.';

/**
 * Proving that a user holds their email address: a signed, expiring link is mailed at sign-up
 * (`libs/auth/src/email-verification.ts`), and `GET /verify-email` checks it.
 */
@Injectable()
export class EmailVerificationService {
  constructor(
    @Inject(CONFIG) private readonly config: AuthServerConfig,
    private readonly users: UsersRepository,
    private readonly mailer: Mailer,
  ) {}

  /** The link that verifies `user`'s current email, for 24 h. */
  linkFor(user: { id: string; email: string }, now = new Date()): string {
    const expires = new Date(now.getTime() + EMAIL_VERIFICATION_TTL_S * 1000);
    const token = emailVerificationToken(user, this.config.EMAIL_VERIFICATION_SECRET, expires);
    return emailVerificationUrl(this.config.ISSUER, token);
  }

  /** Mails a new user the link to verify their address. */
  sendLink(user: { id: string; email: string }): void {
    const link = this.linkFor(user);
    this.mailer.send({
      to: user.email,
      subject: 'Verify your email address',
      link,
      text:
        'Welcome to Cloud API Platform.\n\n' +
        `Follow this link within 24 hours to verify ${user.email}:\n\n${link}\n\n` +
        'If you did not sign up, ignore this message: nothing happens without the link.\n',
    });
  }

  /**
   * What a sign-up with an address that already has an account mails instead of creating
   * anything: a note to the holder of the address (the page looks the same either way). No link:
   * whoever signed up may not be the holder, and must not get the account verified by them.
   */
  sendAlreadyRegistered(email: string): void {
    this.mailer.send({
      to: email,
      subject: 'You already have an account',
      text:
        `Someone asked to create a Cloud API Platform account for ${email}, which already ` +
        'has one, so nothing was created. If it was you, sign in with your password.\n' +
        'If it was not you, you can ignore this message.\n',
    });
  }

  /** `GET /verify-email?token=`: marks the address verified, or says why the link fails. */
  async verify(token: string | undefined): Promise<PageResult> {
    const parsed = parseEmailVerificationToken(token ?? '');
    if (!parsed) throw new DomainError('invalid_request', INVALID, { param: 'token' });
    const user = await this.users.findById(parsed.userId);
    // An unknown user is answered like an altered link: the signature cannot be right.
    const check = user
      ? checkEmailVerificationToken(parsed, user.email, this.config.EMAIL_VERIFICATION_SECRET)
      : 'invalid';
    if (check === 'expired') throw new DomainError('invalid_request', EXPIRED, { param: 'token' });
    if (check !== 'valid' || !user || !(await this.users.markEmailVerified(user.id, user.email))) {
      throw new DomainError('invalid_request', INVALID, { param: 'token' });
    }
    return page(emailVerifiedPage({ email: user.email }));
  }
}
