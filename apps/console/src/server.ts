import formbody from '@fastify/formbody';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import {
  ApiKey,
  ApiKeyWithSecret,
  ListPage,
  Member,
  OAuthClient as OAuthApp,
  OAuthClientWithSecret,
  Project,
  Region,
  SCOPES,
  SupportTicket,
  UsageReport,
  User,
} from '@cap/contracts';
import { ApiClient, ApiError } from './api.client';
import type { ConsoleConfig } from './config';
import { OAuthClient, pkcePair, SignInError } from './oauth.client';
import { randomToken, safeEqual, Session, SessionStore } from './session.store';
import { barChart, slotsBetween, toSeries } from './usage.chart';
import { copyButton, csrfField, errorBox, esc, fmtTime, page } from './views';

export const SESSION_COOKIE = 'console_session';
export const SIGNIN_COOKIE = 'console_signin';

type Form = Record<string, string | string[] | undefined>;
interface Ctx {
  id: string;
  session: Session;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

const str = (form: Form, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() ?? '';
};
const list = (form: Form, name: string) => {
  const v = form[name];
  return (Array.isArray(v) ? v : v ? [v] : []).map((s) => s.trim()).filter(Boolean);
};

const ID = /^[a-z]{3}_[0-9A-Za-z]{1,64}$/;

export function buildServer(config: ConsoleConfig, redis: Redis): FastifyInstance {
  const publicUrl = config.PUBLIC_URL ?? `http://${config.HOST}:${config.PORT}`;
  const secure = publicUrl.startsWith('https:');
  const oauth = new OAuthClient(
    config.ISSUER,
    config.CONSOLE_CLIENT_ID,
    `${publicUrl}/auth/callback`,
  );
  const api = new ApiClient(config.API_URL);
  const store = new SessionStore(redis, config.QUEUE_PREFIX, config.CONSOLE_SESSION_TTL_S);
  const app = Fastify({ logger: false, trustProxy: config.TRUST_PROXY, bodyLimit: 64 * 1024 });
  void app.register(formbody);

  const cookie = (name: string, value: string, maxAge: number, path = '/') =>
    `${name}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-frame-options', 'DENY')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' " +
          new URL(config.ISSUER).origin +
          "; frame-ancestors 'none'",
      )
      .send(body);

  const problem = (
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
        body: `<section class="error" role="alert"><p>${esc(message)}</p>
<p><a href="/signin">Sign in again</a></p></section>`,
      }),
    );

  /** The session, its token refreshed silently when it is about to expire. */
  async function context(req: FastifyRequest): Promise<Ctx | null> {
    const id = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    const session = await store.get(id);
    if (!id || !session) return null;
    if (session.expires_at - 30_000 < Date.now()) {
      if (!session.refresh_token) return null;
      try {
        const tokens = await oauth.refresh(session.refresh_token);
        session.access_token = tokens.access_token;
        session.refresh_token = tokens.refresh_token ?? session.refresh_token;
        session.expires_at = Date.now() + tokens.expires_in * 1000;
        await store.save(id, session);
      } catch {
        await store.destroy(id);
        return null;
      }
    }
    return {
      id,
      session,
      call: (method, path, body) => api.call(session.access_token, method, path, body),
    };
  }

  type Handler = (req: FastifyRequest, reply: FastifyReply, ctx: Ctx) => Promise<unknown>;

  /** A page for signed-in users; anyone else is sent to sign in. */
  function get(path: string, handler: Handler) {
    app.get(path, async (req, reply) => {
      const ctx = await context(req);
      if (!ctx) return reply.redirect(`/signin?return_to=${encodeURIComponent(req.url)}`, 303);
      return handler(req, reply, ctx);
    });
  }

  /** A state-changing form: same-origin and carrying the session's CSRF token. */
  function post(path: string, handler: Handler) {
    app.post(path, async (req, reply) => {
      const ctx = await context(req);
      if (!ctx) return problem(reply, 401, 'Signed out', 'Your session has ended. Sign in again.');
      const origin = req.headers.origin;
      const form = (req.body ?? {}) as Form;
      const token = typeof form._csrf === 'string' ? form._csrf : '';
      if ((origin && origin !== new URL(publicUrl).origin) || !safeEqual(token, ctx.session.csrf)) {
        return problem(
          reply,
          403,
          'Form expired',
          'This form did not come from this console session (missing or wrong CSRF token). Reload the page and try again.',
          ctx.session.csrf,
        );
      }
      return handler(req, reply, ctx);
    });
  }

  const view = (reply: FastifyReply, ctx: Ctx, title: string, body: string, status = 200) =>
    html(
      reply,
      status,
      page({ title, csrf: ctx.session.csrf, email: ctx.session.user?.email, body }),
    );

  /** An API error on a page: readable, with its request id. Anything else is rethrown. */
  const failed = (reply: FastifyReply, ctx: Ctx, title: string, err: unknown) => {
    if (!(err instanceof ApiError)) throw err;
    return view(reply, ctx, title, errorBox(err.body), err.status >= 500 ? 502 : err.status);
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await redis.ping();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  // ---- sign-in ----
  app.get('/signin', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const returnTo =
      typeof q.return_to === 'string' &&
      q.return_to.startsWith('/') &&
      !q.return_to.startsWith('//')
        ? q.return_to
        : '/projects';
    return html(
      reply,
      200,
      page({
        title: 'Sign in',
        body: `<section><p>Sign in with your platform account. Your password is entered on the platform's sign-in page, never here.</p>
<form method="get" action="/auth/start"><input type="hidden" name="return_to" value="${esc(returnTo)}"><button type="submit">Sign in</button></form>
<p>No account yet? <a href="${esc(oauth.signUpUrl())}">Sign up</a></p></section>`,
      }),
    );
  });

  app.get('/auth/start', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const returnTo =
      typeof q.return_to === 'string' && /^\/(?!\/)/.test(q.return_to) ? q.return_to : '/projects';
    const { verifier, challenge } = pkcePair();
    const state = randomToken();
    const id = await store.startSignIn({ state, verifier, return_to: returnTo });
    return reply
      .header('set-cookie', cookie(SIGNIN_COOKIE, id, 600, '/auth'))
      .header('cache-control', 'no-store')
      .redirect(oauth.authorizeUrl(state, challenge), 303);
  });

  app.get('/auth/callback', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const clear = cookie(SIGNIN_COOKIE, '', 0, '/auth');
    reply.header('set-cookie', clear);
    if (typeof q.error === 'string') {
      return problem(
        reply,
        400,
        'Sign-in failed',
        `The sign-in was not completed (${q.error}${q.error_description ? `: ${q.error_description}` : ''}).`,
      );
    }
    const pending = await store.takeSignIn(parseCookies(req.headers.cookie)[SIGNIN_COOKIE]);
    if (!pending) {
      return problem(
        reply,
        400,
        'Sign-in failed',
        'This sign-in was not started in this browser or has expired (no PKCE verifier). Start again.',
      );
    }
    if (typeof q.state !== 'string' || !safeEqual(q.state, pending.state)) {
      return problem(
        reply,
        400,
        'Sign-in failed',
        'The sign-in answer does not match the request made by this browser (state mismatch). Start again.',
      );
    }
    if (typeof q.code !== 'string' || q.code.length === 0 || q.code.length > 512) {
      return problem(
        reply,
        400,
        'Sign-in failed',
        'The sign-in answer carries no authorization code. Start again.',
      );
    }
    try {
      const tokens = await oauth.exchangeCode(q.code, pending.verifier);
      const session: Session = {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at: Date.now() + tokens.expires_in * 1000,
        csrf: randomToken(),
      };
      try {
        const user = await api.call<User>(tokens.access_token, 'GET', '/user');
        session.user = { id: user.id, email: user.email };
      } catch {
        // the console works without the name in the header
      }
      const id = await store.create(session);
      return reply
        .header('set-cookie', [clear, cookie(SESSION_COOKIE, id, config.CONSOLE_SESSION_TTL_S)])
        .redirect(pending.return_to, 303);
    } catch (err) {
      if (err instanceof SignInError) return problem(reply, 400, 'Sign-in failed', err.message);
      throw err;
    }
  });

  app.post('/signout', async (req, reply) => {
    const ctx = await context(req);
    const form = (req.body ?? {}) as Form;
    if (ctx) {
      if (!safeEqual(typeof form._csrf === 'string' ? form._csrf : '', ctx.session.csrf)) {
        return problem(
          reply,
          403,
          'Form expired',
          'Reload the page and sign out again (missing or wrong CSRF token).',
          ctx.session.csrf,
        );
      }
      if (ctx.session.refresh_token) await oauth.revoke(ctx.session.refresh_token, 'refresh_token');
      await oauth.revoke(ctx.session.access_token, 'access_token');
      await store.destroy(ctx.id);
    }
    return reply
      .header('set-cookie', cookie(SESSION_COOKIE, '', 0))
      .redirect('/signin?signed_out=1', 303);
  });

  app.get('/', async (_req, reply) => reply.redirect('/projects', 303));

  // ---- projects ----
  get('/projects', async (_req, reply, ctx) => {
    try {
      const [projects, regions] = await Promise.all([
        ctx.call<ListPage<Project>>('GET', '/projects?limit=100'),
        ctx.call<ListPage<Region> | Region[]>('GET', '/regions'),
      ]);
      const regionList = Array.isArray(regions) ? regions : regions.data;
      const rows = projects.data
        .map(
          (p) =>
            `<tr><td><a href="/projects/${esc(p.id)}">${esc(p.name)}</a></td><td><code>${esc(p.id)}</code></td><td>${esc(p.region)}</td><td>${fmtTime(p.created_at)}</td></tr>`,
        )
        .join('');
      return view(
        reply,
        ctx,
        'Projects',
        `<section><h2>Your projects</h2>${
          rows
            ? `<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Region</th><th scope="col">Created</th></tr></thead><tbody>${rows}</tbody></table></div>`
            : '<p class="muted">No projects yet. Create your first one below.</p>'
        }</section>
<section><h2>Create a project</h2><form method="post" action="/projects">${csrfField(ctx.session.csrf)}
<label for="name">Name</label><input id="name" name="name" required maxlength="100">
<label for="region">Region</label><select id="region" name="region" required>${regionList.map((r) => `<option value="${esc(r.id)}">${esc(r.name)} (${esc(r.id)})</option>`).join('')}</select>
<button type="submit">Create project</button></form></section>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Projects', err);
    }
  });

  post('/projects', async (req, reply, ctx) => {
    const form = req.body as Form;
    try {
      const p = await ctx.call<Project>('POST', '/projects', {
        name: str(form, 'name'),
        region: str(form, 'region'),
      });
      return reply.redirect(`/projects/${p.id}`, 303);
    } catch (err) {
      return failed(reply, ctx, 'Create a project', err);
    }
  });

  const projectId = (req: FastifyRequest) => {
    const id = (req.params as { id: string }).id;
    return ID.test(id) ? id : 'prj_invalid';
  };

  get('/projects/:id', async (req, reply, ctx) => {
    const id = projectId(req);
    try {
      const [project, keys, members] = await Promise.all([
        ctx.call<Project>('GET', `/projects/${id}`),
        ctx.call<ListPage<ApiKey>>('GET', `/keys?project_id=${id}&limit=100`),
        ctx
          .call<ListPage<Member>>('GET', `/projects/${id}/members?limit=100`)
          .catch(() => ({ data: [], has_more: false })),
      ]);
      const csrf = csrfField(ctx.session.csrf);
      const keyRows = keys.data
        .map(
          (
            k,
          ) => `<tr><td>${esc(k.name)}<br><code>${esc(k.redacted)}</code></td><td>${k.scopes.map(esc).join(', ')}</td>
<td>${k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : 'active'}</td><td>${fmtTime(k.last_used_at)}</td><td>${fmtTime(k.expires_at)}</td>
<td>${
            k.revoked_at
              ? ''
              : `<form method="post" action="/keys/${esc(k.id)}/rotate">${csrf}<input type="hidden" name="project_id" value="${esc(id)}">
<label for="grace-${esc(k.id)}">Grace period (hours)</label><input id="grace-${esc(k.id)}" name="grace_hours" type="number" min="0" max="168" value="24"><button type="submit">Rotate</button></form>
<form method="post" action="/keys/${esc(k.id)}/revoke">${csrf}<input type="hidden" name="project_id" value="${esc(id)}">
<label><input type="checkbox" name="confirm" value="yes" required> I understand requests with this key will fail</label><button class="danger" type="submit">Revoke</button></form>`
          }</td></tr>`,
        )
        .join('');
      const memberRows = members.data
        .map(
          (m) =>
            `<tr><td>${esc(m.email)}</td><td>${esc(m.role)}</td><td>${fmtTime(m.created_at)}</td></tr>`,
        )
        .join('');
      return view(
        reply,
        ctx,
        `Project ${project.name}`,
        `<p><code>${esc(project.id)}</code> · ${esc(project.region)} · <a href="/projects/${esc(id)}/usage">Usage</a></p>
<section><h2>API keys</h2>${
          keyRows
            ? `<div class="table-wrap"><table><thead><tr><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Status</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead><tbody>${keyRows}</tbody></table></div>`
            : '<p class="muted">No keys yet.</p>'
        }</section>
<section><h2>Create an API key</h2><form method="post" action="/projects/${esc(id)}/keys">${csrf}
<label for="key-name">Name</label><input id="key-name" name="name" required maxlength="100">
<fieldset><legend>Scopes (none ticked: all)</legend>${SCOPES.map((s) => `<label><input type="checkbox" name="scopes" value="${s}"> ${s}</label>`).join('')}</fieldset>
<label for="access">Project access</label><select id="access" name="project_access"><option value="own">Only this project</option><option value="member">Every project I am a member of</option></select>
<label for="expires">Expires (optional)</label><input id="expires" name="expires_at" type="date">
<label for="rate">Rate limit, requests per minute (optional)</label><input id="rate" name="rate_limit" type="number" min="1">
<button type="submit">Create key</button></form></section>
<section><h2>Members</h2>${memberRows ? `<div class="table-wrap"><table><thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Since</th></tr></thead><tbody>${memberRows}</tbody></table></div>` : '<p class="muted">No members visible.</p>'}</section>
<section><h2>Rename</h2><form method="post" action="/projects/${esc(id)}/rename">${csrf}<label for="rename">New name</label><input id="rename" name="name" required value="${esc(project.name)}"><button type="submit">Rename</button></form></section>
<section><h2>Delete this project</h2><p>This revokes all of its keys.</p><form method="post" action="/projects/${esc(id)}/delete">${csrf}
<label for="confirm-name">Type the project name <strong>${esc(project.name)}</strong> to confirm</label><input id="confirm-name" name="confirm" required autocomplete="off">
<button class="danger" type="submit">Delete project</button></form></section>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Project', err);
    }
  });

  post('/projects/:id/rename', async (req, reply, ctx) => {
    const id = projectId(req);
    try {
      await ctx.call('PATCH', `/projects/${id}`, { name: str(req.body as Form, 'name') });
      return reply.redirect(`/projects/${id}`, 303);
    } catch (err) {
      return failed(reply, ctx, 'Rename', err);
    }
  });

  post('/projects/:id/delete', async (req, reply, ctx) => {
    const id = projectId(req);
    try {
      const project = await ctx.call<Project>('GET', `/projects/${id}`);
      if (str(req.body as Form, 'confirm') !== project.name) {
        return view(
          reply,
          ctx,
          'Delete project',
          `<section class="error" role="alert"><p>The name you typed does not match; nothing was deleted.</p><p><a href="/projects/${esc(id)}">Back</a></p></section>`,
          400,
        );
      }
      await ctx.call('DELETE', `/projects/${id}`);
      return reply.redirect('/projects', 303);
    } catch (err) {
      return failed(reply, ctx, 'Delete project', err);
    }
  });

  const secretPage = (
    reply: FastifyReply,
    ctx: Ctx,
    title: string,
    label: string,
    secret: string,
    back: string,
    extra = '',
  ) =>
    view(
      reply,
      ctx,
      title,
      `<section class="secret" role="status"><h2>${esc(label)}</h2>
<p><strong>Copy it now: it is shown only once.</strong> The platform keeps only a hash; reloading this page will not show it again.</p>
<p><code id="secret">${esc(secret)}</code> ${copyButton(secret, `Copy ${label}`)}</p>${extra}<p><a href="${esc(back)}">I have stored it — continue</a></p></section>`,
    );

  post('/projects/:id/keys', async (req, reply, ctx) => {
    const id = projectId(req);
    const form = req.body as Form;
    const scopes = list(form, 'scopes');
    const expires = str(form, 'expires_at');
    const rate = str(form, 'rate_limit');
    try {
      const key = await ctx.call<ApiKeyWithSecret>('POST', '/keys', {
        project_id: id,
        name: str(form, 'name'),
        ...(scopes.length ? { scopes } : {}),
        ...(str(form, 'project_access') ? { project_access: str(form, 'project_access') } : {}),
        ...(expires
          ? { expires_at: /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59Z` : expires }
          : {}),
        ...(rate ? { rate_limit: /^\d+$/.test(rate) ? Number(rate) : rate } : {}),
      });
      return secretPage(
        reply,
        ctx,
        'Key created',
        `Secret of ${key.name}`,
        key.secret,
        `/projects/${id}`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Create an API key', err);
    }
  });

  post('/keys/:id/rotate', async (req, reply, ctx) => {
    const id = projectId(req);
    const form = req.body as Form;
    const hours = Number(str(form, 'grace_hours') || '24');
    try {
      const key = await ctx.call<ApiKeyWithSecret>('POST', `/keys/${id}/rotate`, {
        grace_period_seconds: Number.isFinite(hours) ? Math.round(hours * 3600) : hours,
      });
      return secretPage(
        reply,
        ctx,
        'Key rotated',
        `New secret of ${key.name}`,
        key.secret,
        `/projects/${key.project_id}`,
        `<p>The previous secret keeps working until ${fmtTime(key.previous_secret_expires_at ?? null)}.</p>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Rotate key', err);
    }
  });

  post('/keys/:id/revoke', async (req, reply, ctx) => {
    const id = projectId(req);
    const form = req.body as Form;
    const back = ID.test(str(form, 'project_id'))
      ? `/projects/${str(form, 'project_id')}`
      : '/projects';
    if (str(form, 'confirm') !== 'yes') {
      return view(
        reply,
        ctx,
        'Revoke key',
        `<section class="error" role="alert"><p>Tick the confirmation to revoke the key.</p><p><a href="${esc(back)}">Back</a></p></section>`,
        400,
      );
    }
    try {
      await ctx.call('POST', `/keys/${id}/revoke`);
      return reply.redirect(back, 303);
    } catch (err) {
      return failed(reply, ctx, 'Revoke key', err);
    }
  });

  // ---- usage ----
  const RANGES = {
    '1h': 3_600_000,
    '24h': 86_400_000,
    '7d': 7 * 86_400_000,
    '30d': 30 * 86_400_000,
  } as const;
  const DEFAULT_GRANULARITY = {
    '1h': 'minute',
    '24h': 'hour',
    '7d': 'hour',
    '30d': 'day',
  } as const;
  get('/projects/:id/usage', async (req, reply, ctx) => {
    const id = projectId(req);
    const q = req.query as Record<string, string | undefined>;
    const range = (q.range && q.range in RANGES ? q.range : '24h') as keyof typeof RANGES;
    const granularity = (
      ['minute', 'hour', 'day'].includes(q.granularity ?? '')
        ? q.granularity
        : DEFAULT_GRANULARITY[range]
    ) as 'minute' | 'hour' | 'day';
    const groupBy = ['key', 'endpoint', 'status'].includes(q.group_by ?? '')
      ? (q.group_by as string)
      : '';
    const end = new Date();
    const start = new Date(end.getTime() - RANGES[range]);
    const controls = `<form method="get" action="/projects/${esc(id)}/usage" style="display:flex;flex-wrap:wrap;gap:1rem;align-items:end">
<div><label for="range">Range</label><select id="range" name="range">${Object.keys(RANGES)
      .map((r) => `<option value="${r}"${r === range ? ' selected' : ''}>last ${r}</option>`)
      .join('')}</select></div>
<div><label for="granularity">Granularity</label><select id="granularity" name="granularity">${['minute', 'hour', 'day'].map((g) => `<option${g === granularity ? ' selected' : ''}>${g}</option>`).join('')}</select></div>
<div><label for="group_by">Split by</label><select id="group_by" name="group_by"><option value="">nothing</option>${['key', 'endpoint', 'status'].map((g) => `<option${g === groupBy ? ' selected' : ''}>${g}</option>`).join('')}</select></div>
<div><button type="submit">Show</button></div></form>`;
    try {
      const params = new URLSearchParams({
        project_id: id,
        start: start.toISOString(),
        end: end.toISOString(),
        granularity,
        ...(groupBy ? { group_by: groupBy } : {}),
      });
      const report = await ctx.call<UsageReport>('GET', `/usage?${params.toString()}`);
      const series = toSeries(report.data, groupBy || null);
      const total = report.data.reduce((n, b) => n + b.requests, 0);
      const slots = slotsBetween(start, end, granularity);
      const totals = series
        .map(
          (s) =>
            `<li>${esc(s.name)}: <strong>${[...s.points.values()].reduce((a, b) => a + b, 0)}</strong></li>`,
        )
        .join('');
      return view(
        reply,
        ctx,
        'Usage',
        `<p><a href="/projects/${esc(id)}">Back to the project</a></p><section>${controls}</section>
<section><h2>Requests, last ${esc(range)}</h2><p>Total: <strong data-testid="usage-total">${total}</strong> requests · data complete up to ${fmtTime(report.complete_through)}</p>
${total ? barChart(slots, series, `Requests per ${granularity}, last ${range}`) : '<p class="muted">No requests in this range yet.</p>'}
${groupBy && totals ? `<h3>Totals by ${esc(groupBy)}</h3><ul>${totals}</ul>` : ''}</section>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Usage', err);
    }
  });

  // ---- OAuth apps ----
  get('/oauth-apps', async (_req, reply, ctx) => {
    try {
      const apps = await ctx.call<ListPage<OAuthApp>>('GET', '/oauth/clients?limit=100');
      const rows = apps.data
        .map(
          (a) =>
            `<tr><td>${esc(a.name)}</td><td><code>${esc(a.id)}</code> ${copyButton(a.id, `Copy client id of ${a.name}`)}</td><td>${esc(a.type)}</td><td>${a.redirect_uris.map(esc).join('<br>')}</td></tr>`,
        )
        .join('');
      return view(
        reply,
        ctx,
        'OAuth apps',
        `<section><h2>Your apps</h2>${rows ? `<div class="table-wrap"><table><thead><tr><th scope="col">Name</th><th scope="col">Client id</th><th scope="col">Type</th><th scope="col">Redirect URIs</th></tr></thead><tbody>${rows}</tbody></table></div>` : '<p class="muted">No apps registered yet.</p>'}</section>
<section><h2>Register an app</h2><form method="post" action="/oauth-apps">${csrfField(ctx.session.csrf)}
<label for="app-name">Name</label><input id="app-name" name="name" required maxlength="100">
<label for="redirects">Redirect URIs (one per line)</label><textarea id="redirects" name="redirect_uris" rows="3" required></textarea>
<label for="type">Type</label><select id="type" name="type"><option value="confidential">Confidential (has a secret; runs on a server)</option><option value="public">Public (no secret; PKCE)</option></select>
<button type="submit">Register app</button></form></section>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'OAuth apps', err);
    }
  });

  post('/oauth-apps', async (req, reply, ctx) => {
    const form = req.body as Form;
    try {
      const created = await ctx.call<OAuthClientWithSecret>('POST', '/oauth/clients', {
        name: str(form, 'name'),
        redirect_uris: str(form, 'redirect_uris').split(/\s+/).filter(Boolean),
        type: str(form, 'type') || 'confidential',
      });
      const idLine = `<p>Client id <code id="client-id">${esc(created.id)}</code> ${copyButton(created.id, 'Copy client id')}</p>`;
      if (!created.client_secret) {
        return view(
          reply,
          ctx,
          'App registered',
          `<section role="status">${idLine}<p>A public app has no secret; it must use PKCE.</p><p><a href="/oauth-apps">Continue</a></p></section>`,
        );
      }
      return secretPage(
        reply,
        ctx,
        'App registered',
        `Client secret of ${created.name}`,
        created.client_secret,
        '/oauth-apps',
        idLine,
      );
    } catch (err) {
      return failed(reply, ctx, 'Register an app', err);
    }
  });

  // ---- support ----
  get('/support', async (req, reply, ctx) => {
    const q = req.query as Record<string, string | undefined>;
    const prefill =
      typeof q.request_id === 'string' && /^req_[0-9A-Za-z_-]{1,100}$/.test(q.request_id)
        ? q.request_id
        : '';
    try {
      const tickets = await ctx.call<ListPage<SupportTicket>>('GET', '/support/tickets?limit=100');
      const rows = tickets.data
        .map(
          (t) =>
            `<tr><td><a href="/support/tickets/${esc(t.id)}">${esc(t.subject)}</a></td><td>${esc(t.status)}</td><td>${fmtTime(t.created_at)}</td></tr>`,
        )
        .join('');
      return view(
        reply,
        ctx,
        'Support',
        `<section><h2>Open a ticket</h2><form method="post" action="/support/tickets">${csrfField(ctx.session.csrf)}
<label for="subject">Subject</label><input id="subject" name="subject" required maxlength="100" value="${prefill ? `Request ${esc(prefill)} failed` : ''}">
<label for="body">What happened?</label><textarea id="body" name="body" rows="5" required></textarea>
<label for="request_ids">Request ids (from the Request-Id header; one per line)</label><textarea id="request_ids" name="request_ids" rows="3">${esc(prefill)}</textarea>
<button type="submit">Open ticket</button></form></section>
<section><h2>Your tickets</h2>${rows ? `<div class="table-wrap"><table><thead><tr><th scope="col">Subject</th><th scope="col">Status</th><th scope="col">Opened</th></tr></thead><tbody>${rows}</tbody></table></div>` : '<p class="muted">No tickets yet.</p>'}</section>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Support', err);
    }
  });

  post('/support/tickets', async (req, reply, ctx) => {
    const form = req.body as Form;
    try {
      const t = await ctx.call<SupportTicket>('POST', '/support/tickets', {
        subject: str(form, 'subject'),
        body: str(form, 'body'),
        request_ids: str(form, 'request_ids')
          .split(/[\s,]+/)
          .filter(Boolean),
      });
      return reply.redirect(`/support/tickets/${t.id}`, 303);
    } catch (err) {
      return failed(reply, ctx, 'Open a ticket', err);
    }
  });

  get('/support/tickets/:id', async (req, reply, ctx) => {
    const id = projectId(req);
    try {
      const t = await ctx.call<SupportTicket>('GET', `/support/tickets/${id}`);
      return view(
        reply,
        ctx,
        `Ticket: ${t.subject}`,
        `<section><p>Status: <strong>${esc(t.status)}</strong> · opened ${fmtTime(t.created_at)} · <code>${esc(t.id)}</code></p>
<p style="white-space:pre-wrap">${esc(t.body)}</p><h2>Request ids</h2>${t.request_ids.length ? `<ul>${t.request_ids.map((r) => `<li><code>${esc(r)}</code></li>`).join('')}</ul>` : '<p class="muted">None attached.</p>'}</section><p><a href="/support">All tickets</a></p>`,
      );
    } catch (err) {
      return failed(reply, ctx, 'Ticket', err);
    }
  });

  app.setNotFoundHandler((_req, reply) =>
    html(
      reply,
      404,
      page({ title: 'Not found', body: '<p><a href="/projects">Go to your projects</a></p>' }),
    ),
  );
  app.setErrorHandler((err: { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode < 500 ? err.statusCode : 500;
    return html(
      reply,
      status,
      page({
        title: status < 500 ? 'Bad request' : 'Something went wrong',
        body: `<section class="error" role="alert"><p>${status < 500 ? 'The console could not read this request.' : 'The console failed to answer. Try again.'}</p></section>`,
      }),
    );
  });
  return app;
}
