import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { User } from '@cap/contracts';
import { errorResponse } from '@cap/observability';
import type { RedisClient } from '@cap/queue';
import { ApiClient, ApiError } from './api.client';
import { ConsoleConfig, publicUrlOf } from './config';
import { registerKeyPages } from './keys/keys.pages';
import { registerMemberPages } from './members/members.pages';
import { registerOAuthAppPages } from './oauth-apps/oauth-apps.pages';
import { OAuthClient, pkcePair, SignInError } from './oauth.client';
import { Ctx, Form, Kit, parseCookies } from './pages';
import { registerProjectPages } from './projects/projects.pages';
import {
  isTokenShaped,
  randomToken,
  safeEqual,
  Session,
  SessionStore,
  SIGN_IN_TTL_S,
} from './session.store';
import { registerSupportPages } from './support/support.pages';
import { registerUsagePages } from './usage/usage.pages';
import { consoleErrorBox, errorBox, esc, page, SCRIPT_HASH } from './views';

export const SESSION_COOKIE = 'console_session';
export const SIGNIN_COOKIE = 'console_signin';

/**
 * Over HTTPS the cookies carry the prefixes browsers enforce: `__Host-` (Secure, Path=/, no
 * Domain: no sibling subdomain can set or shadow the session) and `__Secure-` for the sign-in
 * cookie, which is scoped to /auth.
 */
export const cookieNames = (secure: boolean) => ({
  session: secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE,
  signIn: secure ? `__Secure-${SIGNIN_COOKIE}` : SIGNIN_COOKIE,
});

/** The longest `return_to` kept across a sign-in. */
const MAX_RETURN_TO = 512;

/**
 * A path of this console to come back to after signing in, or the projects page. Only a plain
 * absolute path: no scheme or host, no `//` or `/\` start (browsers read either as another
 * host), no backslash, whitespace or control characters anywhere (browsers strip tabs and
 * newlines from a Location, which would turn `/\t/evil` into `//evil`), and not the sign-in's
 * own routes.
 */
export function safeReturn(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length > MAX_RETURN_TO ||
    !/^\/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$/.test(value) ||
    value.startsWith('/auth/') ||
    new URL(value, 'http://console.invalid').origin !== 'http://console.invalid'
  ) {
    return '/projects';
  }
  return value;
}

/** Fixed words for the OAuth errors a sign-in can come back with (RFC 6749 §4.1.2.1). */
const SIGN_IN_ERRORS: Record<string, string> = {
  access_denied: 'access was not granted (access_denied)',
  login_required: 'you are not signed in at the platform (login_required)',
  consent_required: 'your consent is needed (consent_required)',
  interaction_required: 'the platform needs you to sign in again (interaction_required)',
  invalid_request: 'the sign-in request was refused (invalid_request)',
  invalid_scope: 'the console asked for scopes the platform does not offer (invalid_scope)',
  server_error: 'the platform failed to sign you in (server_error)',
  temporarily_unavailable: 'the platform is busy (temporarily_unavailable)',
  unauthorized_client: 'this console is not allowed to sign in (unauthorized_client)',
};

/** Why a session ended without the user signing out: said on the sign-in page. */
const ENDED: Record<string, string> = {
  max_age: 'Your session reached its maximum lifetime. Sign in again to continue.',
  refresh:
    'Your sign-in could not be renewed (the platform refused the refresh token: it may have ' +
    'been revoked, or it expired). You have been signed out; sign in again.',
  unauthorized:
    'The platform no longer accepts this session (its access was revoked). You have been signed ' +
    'out; sign in again.',
};

export interface ConsoleDeps {
  config: ConsoleConfig;
  redis: RedisClient;
  logger: Logger;
}

/**
 * The console's pages as a Fastify plugin: mounted on the app's instance (app.module.ts), in a
 * context of its own with a form parser, HTML error pages and an HTML not-found page.
 */
export async function consolePages(app: FastifyInstance, deps: ConsoleDeps): Promise<void> {
  const { config, redis, logger } = deps;
  const publicUrl = publicUrlOf(config);
  const secure = publicUrl.startsWith('https:');
  const names = cookieNames(secure);
  const oauth = new OAuthClient(
    config.ISSUER,
    config.CONSOLE_CLIENT_ID,
    `${publicUrl}/auth/callback`,
  );
  const api = new ApiClient(config.API_URL);
  const store = new SessionStore(
    redis,
    config.QUEUE_PREFIX,
    config.CONSOLE_SESSION_TTL_S,
    config.CONSOLE_SESSION_MAX_AGE_S,
  );
  await store.init();
  await app.register(formbody, { bodyLimit: 64 * 1024 });

  const cookie = (name: string, value: string, maxAge: number, path = '/') =>
    `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
  const clearSession = cookie(names.session, '', 0);

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .header(
        'content-security-policy',
        `default-src 'self'; script-src ${SCRIPT_HASH}; style-src 'unsafe-inline'; img-src 'self' data:; ` +
          `object-src 'none'; base-uri 'none'; form-action 'self' ${new URL(config.ISSUER).origin}; ` +
          "frame-ancestors 'none'",
      )
      .send(body);

  /** A page about something the console itself refused: readable, with its own reference. */
  const problem = (
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    title: string,
    message: string,
    csrf?: string,
  ) =>
    html(
      reply,
      status,
      page({
        title,
        csrf,
        body: consoleErrorBox(message, String(req.id), {
          signIn: !csrf,
          ticket: Boolean(csrf),
        }),
      }),
    );

  /** Ends a session without the user asking: tokens revoked (best effort), record deleted. */
  async function endSession(id: string, session: Session, why: keyof typeof ENDED) {
    logger.info({ reason: why, user_id: session.user?.id }, 'console session ended');
    await store.destroy(id);
    if (why === 'refresh') return;
    if (session.refresh_token) await oauth.revoke(session.refresh_token, 'refresh_token');
    await oauth.revoke(session.access_token, 'access_token');
  }

  type Found = { ctx: Ctx } | { ended: keyof typeof ENDED } | null;

  /** The session, its token refreshed silently when it is about to expire. */
  async function context(req: FastifyRequest): Promise<Found> {
    const id = parseCookies(req.headers.cookie)[names.session];
    const session = await store.get(id);
    if (!id || !session) return null;
    if (store.isPastMaxAge(session)) {
      await endSession(id, session, 'max_age');
      return { ended: 'max_age' };
    }
    let current = session;
    if (session.expires_at - 30_000 < Date.now()) {
      const renewed = await renew(id, session);
      if (!renewed || 'ended' in renewed) return renewed;
      current = renewed.session;
    } else {
      await store.touch(id, session);
    }
    return { ctx: contextOf(id, current) };
  }

  /**
   * New tokens for a session about to expire. One request refreshes (the session's refresh
   * lock); others arriving meanwhile wait for its result instead of presenting the same
   * single-use refresh token again, which the auth-server would take for a replay.
   */
  async function renew(
    id: string,
    session: Session,
  ): Promise<{ session: Session } | { ended: keyof typeof ENDED } | null> {
    if (!(await store.lockRefresh(id))) {
      for (let waited = 0; waited < 5_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
        const now = await store.get(id);
        if (!now) return null; // ended by the refreshing request, or signed out
        if (now.expires_at !== session.expires_at) return { session: now };
      }
      throw new SignInError('auth_unavailable', 'Renewing your sign-in is taking long. Try again.');
    }
    try {
      if (!session.refresh_token) {
        await endSession(id, session, 'refresh');
        return { ended: 'refresh' };
      }
      const tokens = await oauth.refresh(session.refresh_token);
      const renewed: Session = {
        ...session,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token ?? session.refresh_token,
        expires_at: Date.now() + tokens.expires_in * 1000,
      };
      await store.save(id, renewed);
      return { session: renewed };
    } catch (err) {
      // The auth-server being down is not a reason to sign anyone out.
      if (err instanceof SignInError && err.code === 'auth_unavailable') throw err;
      logger.warn(
        { user_id: session.user?.id, error: err instanceof SignInError ? err.code : 'unknown' },
        'console token refresh refused',
      );
      await endSession(id, session, 'refresh');
      return { ended: 'refresh' };
    } finally {
      await store.releaseRefresh(id).catch(() => undefined);
    }
  }

  /** What a page handler gets: the session and the API called with its token. */
  function contextOf(id: string, session: Session): Ctx {
    return {
      id,
      session,
      call: async (method, path, body, options) => {
        try {
          return await api.call(session.access_token, method, path, body);
        } catch (err) {
          if (err instanceof ApiError && err.body.request_id && !options?.unrecorded?.(err)) {
            await store
              .recordFailure(id, session, {
                request_id: err.body.request_id,
                at: Date.now(),
                method,
                path: `/v1${path.split('?')[0]}`,
                status: err.status,
                code: err.body.code,
              })
              .catch(() => undefined);
          }
          throw err;
        }
      },
      failures: () => store.failures(id),
    };
  }

  const signInAgain = (reply: FastifyReply, ended: string, returnTo?: string) =>
    reply
      .header('set-cookie', clearSession)
      .redirect(
        `/signin?ended=${ended}${returnTo ? `&return_to=${encodeURIComponent(returnTo)}` : ''}`,
        303,
      );

  const kit: Kit = {
    get(path, handler) {
      app.get(path, async (req, reply) => {
        const found = await context(req);
        if (!found) return reply.redirect(`/signin?return_to=${encodeURIComponent(req.url)}`, 303);
        if ('ended' in found) return signInAgain(reply, found.ended, req.url);
        return handler(req, reply, found.ctx);
      });
    },
    /** A state-changing form: same-origin and carrying the session's CSRF token. */
    post(path, handler) {
      app.post(path, async (req, reply) => {
        const found = await context(req);
        if (!found || 'ended' in found) {
          reply.header('set-cookie', clearSession);
          return problem(
            req,
            reply,
            401,
            'Signed out',
            found ? ENDED[found.ended] : 'Your session has ended. Sign in again.',
          );
        }
        const { ctx } = found;
        const origin = req.headers.origin;
        const form = (req.body ?? {}) as Form;
        const token = typeof form._csrf === 'string' ? form._csrf : '';
        if (
          (origin && origin !== new URL(publicUrl).origin) ||
          !safeEqual(token, ctx.session.csrf)
        ) {
          return problem(
            req,
            reply,
            403,
            'Form expired',
            'This form did not come from this console session (missing or wrong CSRF token). Reload the page and try again.',
            ctx.session.csrf,
          );
        }
        return handler(req, reply, ctx);
      });
    },
    view: (reply, ctx, title, body, status = 200) =>
      html(
        reply,
        status,
        page({ title, csrf: ctx.session.csrf, email: ctx.session.user?.email, body }),
      ),
    async failed(reply, ctx, title, err, back) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 401) {
        await endSession(ctx.id, ctx.session, 'unauthorized');
        return signInAgain(reply, 'unauthorized');
      }
      const backLink = back ? `<p><a href="${esc(back)}">Back</a></p>` : '';
      return kit.view(
        reply,
        ctx,
        title,
        errorBox(err.body) + backLink,
        err.status >= 500 ? 502 : err.status,
      );
    },
  };

  // ---- sign-in ----

  app.get('/signin', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const returnTo = safeReturn(q.return_to);
    const notice =
      q.ended && q.ended in ENDED
        ? `<section class="error" role="alert"><p>${esc(ENDED[q.ended])}</p></section>`
        : q.signed_out === 'unrevoked'
          ? '<section class="error" role="alert"><p>You are signed out of the console, but the platform did not confirm that this session\'s tokens were revoked (it did not answer). They expire on their own within minutes.</p></section>'
          : q.signed_out
            ? '<section role="status"><p>You are signed out. Your tokens were revoked.</p></section>'
            : '';
    return html(
      reply,
      200,
      page({
        title: 'Sign in',
        body: `${notice}<section><p>Sign in with your platform account. Your password is entered on the platform's sign-in page, never here.</p>
<form method="get" action="/auth/start"><input type="hidden" name="return_to" value="${esc(returnTo)}"><button type="submit">Sign in</button></form>
<p>No account yet? <a href="${esc(oauth.signUpUrl())}">Sign up</a></p></section>`,
      }),
    );
  });

  app.get('/auth/start', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const { verifier, challenge } = pkcePair();
    const state = randomToken();
    const sealed = store.sealSignIn({ state, verifier, return_to: safeReturn(q.return_to) });
    return reply
      .header('set-cookie', cookie(names.signIn, sealed, SIGN_IN_TTL_S, '/auth'))
      .header('cache-control', 'no-store')
      .redirect(oauth.authorizeUrl(state, challenge), 303);
  });

  app.get('/auth/callback', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const clear = cookie(names.signIn, '', 0, '/auth');
    reply.header('set-cookie', clear);
    const failedSignIn = (message: string) => problem(req, reply, 400, 'Sign-in failed', message);
    if (typeof q.error === 'string') {
      // Fixed words only: error_description is whatever the link's author wrote.
      return failedSignIn(
        `The sign-in was not completed: ${SIGN_IN_ERRORS[q.error] ?? 'the platform refused it'}.`,
      );
    }
    const cookies = parseCookies(req.headers.cookie);
    const pending = store.openSignIn(cookies[names.signIn]);
    if (!pending) {
      return failedSignIn(
        'This sign-in was not started in this browser or has expired (no PKCE verifier). Start again.',
      );
    }
    if (typeof q.state !== 'string' || !safeEqual(q.state, pending.state)) {
      return failedSignIn(
        'The sign-in answer does not match the request made by this browser (state mismatch). Start again.',
      );
    }
    if (typeof q.code !== 'string' || q.code.length === 0 || q.code.length > 512) {
      return failedSignIn('The sign-in answer carries no authorization code. Start again.');
    }
    try {
      const tokens = await oauth.exchangeCode(q.code, pending.verifier);
      const session: Session = {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: Date.now() + tokens.expires_in * 1000,
        created_at: Date.now(),
        csrf: randomToken(),
      };
      try {
        const user = await api.call<User>(tokens.access_token, 'GET', '/user');
        session.user = { id: user.id, email: user.email };
      } catch {
        // the console works without the name in the header
      }
      // A session this browser still had is forgotten: one browser, one session. Its tokens are
      // not revoked: they belong to the same grant as the new ones, which would die with them.
      if (isTokenShaped(cookies[names.session])) await store.destroy(cookies[names.session]);
      const id = await store.create(session);
      logger.info({ user_id: session.user?.id }, 'console sign-in');
      return reply
        .header('set-cookie', [clear, cookie(names.session, id, config.CONSOLE_SESSION_MAX_AGE_S)])
        .redirect(pending.return_to, 303);
    } catch (err) {
      if (err instanceof SignInError) return failedSignIn(err.message);
      throw err;
    }
  });

  app.post('/signout', async (req, reply) => {
    const found = await context(req);
    const form = (req.body ?? {}) as Form;
    if (found && 'ctx' in found) {
      const { ctx } = found;
      if (!safeEqual(typeof form._csrf === 'string' ? form._csrf : '', ctx.session.csrf)) {
        return problem(
          req,
          reply,
          403,
          'Form expired',
          'Reload the page and sign out again (missing or wrong CSRF token).',
          ctx.session.csrf,
        );
      }
      const revoked =
        (ctx.session.refresh_token
          ? await oauth.revoke(ctx.session.refresh_token, 'refresh_token')
          : true) && (await oauth.revoke(ctx.session.access_token, 'access_token'));
      await store.destroy(ctx.id);
      logger.info({ user_id: ctx.session.user?.id, revoked }, 'console sign-out');
      if (!revoked) {
        return reply
          .header('set-cookie', clearSession)
          .redirect('/signin?signed_out=unrevoked', 303);
      }
    }
    return reply.header('set-cookie', clearSession).redirect('/signin?signed_out=1', 303);
  });

  app.get('/', async (_req, reply) => reply.redirect('/projects', 303));

  registerProjectPages(kit);
  registerMemberPages(kit);
  registerKeyPages(kit);
  registerUsagePages(kit);
  registerOAuthAppPages(kit);
  registerSupportPages(kit);

  // Everything else under the console's context (the platform's /healthz, /readyz and /metrics
  // are more specific routes and win).
  app.all('/*', async (_req, reply) =>
    html(
      reply,
      404,
      page({
        title: 'Not found',
        body: `<section><p>There is no page at this address.</p><p><a href="/projects">Go to your projects</a></p></section>`,
      }),
    ),
  );
  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof SignInError) {
      // The auth-server did not answer a refresh: nobody is signed out for that.
      return problem(req, reply, 503, 'Try again', err.message);
    }
    // The platform's status for the error (a DomainError from its body parsers, say).
    const status = errorResponse(err, String(req.id)).status;
    if (status >= 500) {
      logger.error(
        { err, request_id: req.id, route: req.routeOptions?.url },
        'console page failed',
      );
    }
    return problem(
      req,
      reply,
      status,
      status < 500 ? 'Bad request' : 'Something went wrong',
      status < 500
        ? 'The console could not read this request.'
        : 'The console failed to answer. Try again; if it keeps failing, quote the reference below.',
    );
  });
}
