import { Injectable } from '@nestjs/common';
import { DomainError } from '@cap/contracts';
import { EmailVerificationService } from '../email-verification/email-verification.service';
import { interactionPath } from '../oauth/oidc-configuration';
import { Csrf } from '../pages/csrf';
import { page, PageRequest, PageResult } from '../pages/page-response';
import { checkInboxPage, signUpPage } from '../pages/views';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../users/passwords';
import { UsersService, validEmail } from '../users/users.service';

const PURPOSE = 'signup';
const INTERACTION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The sign-up page: a new user with an argon2id-hashed password, whose address is verified by
 * the link mailed to it. The answer never tells whether the address already had an account: the
 * same page, after the same work (the hash, the insert), and the mail says which.
 */
@Injectable()
export class SignUpService {
  constructor(
    private readonly users: UsersService,
    private readonly csrf: Csrf,
    private readonly verification: EmailVerificationService,
  ) {}

  private render(
    http: PageRequest,
    values: { interaction?: string; email?: string; name?: string; error?: string },
    status = 200,
  ): PageResult {
    const interaction =
      values.interaction && INTERACTION_ID.test(values.interaction)
        ? values.interaction
        : undefined;
    return page(
      signUpPage({
        action: '/signup',
        csrf: this.csrf.fieldFor(http.req, http.res, PURPOSE),
        ...values,
        interaction,
      }),
      status,
    );
  }

  /** GET: the form; `interaction` is the authorization request to return to afterwards. */
  async form(http: PageRequest, interaction?: string): Promise<PageResult> {
    return this.render(http, { interaction });
  }

  /** POST: creates the user; the form again with the problem when it cannot. */
  async submit(http: PageRequest): Promise<PageResult> {
    if (!this.csrf.verify(http.req, PURPOSE, http.form('csrf_token'))) {
      throw new DomainError(
        'forbidden',
        'This form has expired or was not sent from this site. Reload the page and try again.',
      );
    }
    const values = {
      interaction: http.form('interaction'),
      email: http.form('email')?.trim() ?? '',
      name: http.form('name')?.trim() ?? '',
    };
    const password = http.form('password') ?? '';
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      const error = `The password must have ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters.`;
      return this.render(http, { ...values, error }, 400);
    }
    if (values.name.length > 100) {
      return this.render(
        http,
        { ...values, error: 'The name must be at most 100 characters.' },
        400,
      );
    }
    try {
      // Checked before the (deliberately slow) password hash, not after it.
      const email = validEmail(values.email);
      const created = await this.users
        .create({
          v: 1,
          email,
          name: values.name || undefined,
          password_hash: await hashPassword(password),
        })
        .catch((err: unknown) => {
          if (err instanceof DomainError && err.code === 'conflict') return null;
          throw err;
        });
      if (created) this.verification.sendLink(created);
      else this.verification.sendAlreadyRegistered(email);
      const continueUrl =
        values.interaction && INTERACTION_ID.test(values.interaction)
          ? interactionPath(values.interaction)
          : undefined;
      return page(checkInboxPage({ email, continueUrl }));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'invalid_request') {
        return this.render(http, { ...values, error: err.message }, err.status);
      }
      throw err;
    }
  }
}
