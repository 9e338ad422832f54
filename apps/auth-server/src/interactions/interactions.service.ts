import { Injectable } from '@nestjs/common';
import type { Interaction } from 'oidc-provider';
import { DomainError, normaliseEmail } from '@cap/contracts';
import { interactionPath } from '../oauth/oidc-configuration';
import { OidcProviderService } from '../oauth/oidc-provider.service';
import { describeScope, OFFERED_SCOPES } from '../oauth/scopes';
import { Csrf } from '../pages/csrf';
import { page, PageRequest, PageResult } from '../pages/page-response';
import { consentPage, errorPage, signInPage } from '../pages/views';
import { UsersRepository } from '../users/users.repository';
import { verifyPassword } from '../users/passwords';
import { SignInThrottle } from './sign-in-throttle';

const stringParam = (value: unknown) => (typeof value === 'string' ? value : '');

const expired = () =>
  new DomainError(
    'invalid_request',
    'This sign-in request has expired or was already completed. Go back to the app and start again.',
  );

const csrfRefused = () =>
  new DomainError(
    'forbidden',
    'This form has expired or was not sent from this site. Reload the page and try again.',
  );

/**
 * The pages of an authorization request that needs the user: sign-in (oidc-provider's `login`
 * prompt) and consent (its `consent` prompt). Each answers with a page, or a redirect back to
 * oidc-provider, which continues the authorization request.
 */
@Injectable()
export class InteractionsService {
  constructor(
    private readonly oidc: OidcProviderService,
    private readonly users: UsersRepository,
    private readonly throttle: SignInThrottle,
    private readonly csrf: Csrf,
  ) {}

  private async interaction(uid: string, http: PageRequest): Promise<Interaction> {
    let details: Interaction;
    try {
      details = await this.oidc.provider.interactionDetails(http.req, http.res);
    } catch (err) {
      if ((err as { name?: string }).name === 'SessionNotFound') throw expired();
      throw err;
    }
    // The interaction cookie names the request; the URL must name the same one.
    if (details.uid !== uid) throw expired();
    return details;
  }

  private checkCsrf(uid: string, http: PageRequest): void {
    if (!this.csrf.verify(http.req, `interaction:${uid}`, http.form('csrf_token'))) {
      throw csrfRefused();
    }
  }

  private async clientName(details: Interaction): Promise<string> {
    const client = await this.oidc.provider.Client.find(stringParam(details.params.client_id));
    return client?.clientName ?? client?.clientId ?? 'an application';
  }

  private async finish(
    http: PageRequest,
    result: Parameters<OidcProviderService['provider']['interactionResult']>[2],
  ) {
    const redirect = await this.oidc.provider.interactionResult(http.req, http.res, result, {
      mergeWithLastSubmission: false,
    });
    return { redirect };
  }

  /** GET: the page the current prompt needs. */
  async show(uid: string, http: PageRequest): Promise<PageResult> {
    const details = await this.interaction(uid, http);
    switch (details.prompt.name) {
      case 'login':
        return this.signInForm(uid, http, details);
      case 'consent':
        return this.consentForm(uid, http, details);
      default:
        return page(
          errorPage({
            title: 'Cannot continue',
            message: 'This request needs a step this server does not offer.',
          }),
          400,
        );
    }
  }

  private async signInForm(
    uid: string,
    http: PageRequest,
    details: Interaction,
    failure?: { email: string; error: string; status: number },
  ): Promise<PageResult> {
    const loginHint =
      typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
    const html = signInPage({
      action: `${interactionPath(uid)}/login`,
      abortAction: `${interactionPath(uid)}/abort`,
      csrf: this.csrf.fieldFor(http.req, http.res, `interaction:${uid}`),
      clientName: await this.clientName(details),
      signUpUrl: `/signup?interaction=${encodeURIComponent(uid)}`,
      email: failure?.email ?? loginHint,
      error: failure?.error,
    });
    return page(html, failure?.status ?? 200);
  }

  private async consentForm(uid: string, http: PageRequest, details: Interaction) {
    const accountId = details.session?.accountId;
    const user = accountId ? await this.users.findById(accountId) : null;
    if (!user) throw expired();
    const requested = stringParam(details.params.scope).split(' ');
    const scopes = OFFERED_SCOPES.filter((s) => requested.includes(s)).map((name) => ({
      name,
      description: describeScope(name),
    }));
    const html = consentPage({
      action: `${interactionPath(uid)}/consent`,
      csrf: this.csrf.fieldFor(http.req, http.res, `interaction:${uid}`),
      clientName: await this.clientName(details),
      email: user.email,
      scopes,
    });
    return page(html);
  }

  /**
   * POST: email and password. Throttled per (account, address) and per address; the attempt is
   * counted before the password is checked (SignInThrottle).
   */
  async signIn(uid: string, http: PageRequest): Promise<PageResult> {
    this.checkCsrf(uid, http);
    const details = await this.interaction(uid, http);
    if (details.prompt.name !== 'login') throw expired();
    const email = normaliseEmail(http.form('email') ?? '');
    const password = http.form('password') ?? '';

    const wait = await this.throttle.attempt(email, http.ip);
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60);
      return page(
        errorPage({
          title: 'Too many attempts',
          message: `Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        }),
        429,
        { 'Retry-After': String(wait) },
      );
    }
    const credentials = email ? await this.users.findCredentials(email) : null;
    const ok = await verifyPassword(credentials?.passwordHash ?? null, password);
    if (!ok || !credentials) {
      return this.signInForm(uid, http, details, {
        email,
        error: 'Wrong email or password.',
        status: 401,
      });
    }
    await this.throttle.succeeded(email, http.ip);
    return this.finish(http, { login: { accountId: credentials.id } });
  }

  /** POST: allow or deny. Allowing records the scopes in the grant, which remembers them. */
  async consent(uid: string, http: PageRequest): Promise<PageResult> {
    this.checkCsrf(uid, http);
    const details = await this.interaction(uid, http);
    if (details.prompt.name !== 'consent' || !details.session) throw expired();
    if (http.form('decision') !== 'allow') {
      return this.finish(http, {
        error: 'access_denied',
        error_description: 'The user denied the request.',
      });
    }
    const { Grant } = this.oidc.provider;
    const grant = details.grantId
      ? await Grant.find(details.grantId)
      : new Grant({
          accountId: details.session.accountId,
          clientId: stringParam(details.params.client_id),
        });
    if (!grant) throw expired();
    // What oidc-provider's consent prompt lists as missing (typed as unknown by its types).
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    return this.finish(http, { consent: { grantId } });
  }

  /** POST: the user cancelled; the app gets `access_denied`. */
  async abort(uid: string, http: PageRequest): Promise<PageResult> {
    this.checkCsrf(uid, http);
    await this.interaction(uid, http);
    return this.finish(http, {
      error: 'access_denied',
      error_description: 'The user cancelled the sign-in.',
    });
  }
}
