import { ApiKey, ApiKeyWithSecret, SCOPES } from '@cap/contracts';
import { Form, idParam, isIdShaped, Kit, list, str } from '../pages';
import { copyButton, csrfField, esc, fmtTime } from '../views';

/** The scope presets of the key form; `custom` takes the ticked boxes. */
export const SCOPE_PRESETS = {
  full: { label: 'Full access (every scope)', scopes: [...SCOPES] },
  read: {
    label: 'Read-only (every :read scope)',
    scopes: SCOPES.filter((s) => s.endsWith(':read')),
  },
} as const;

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((s) => b.includes(s));

/** How a key's scopes read in the list: the preset's name, or the scopes. */
export function describeScopes(scopes: readonly string[]): string {
  if (sameSet(scopes, SCOPE_PRESETS.full.scopes)) return 'full access';
  if (sameSet(scopes, SCOPE_PRESETS.read.scopes)) return 'read-only';
  return scopes.map(esc).join(', ');
}

/**
 * The expiry fields (a UTC date and time) as the API's `expires_at`; a time without a date is
 * passed on as given, for the API to refuse with its own message.
 */
export function expiresAt(date: string, time: string): string | undefined {
  if (!date) return time || undefined;
  return `${date}T${/^\d{2}:\d{2}$/.test(time) ? time : time || '23:59'}:00Z`;
}

/** The rows of a project's key list: redacted form, scopes, restriction, limit, use, expiry. */
export function keyRows(keys: ApiKey[], projectId: string, csrf: string): string {
  const hidden = `${csrfField(csrf)}<input type="hidden" name="project_id" value="${esc(projectId)}">`;
  return keys
    .map((k) => {
      const actions = k.revoked_at
        ? ''
        : `<form method="post" action="/keys/${esc(k.id)}/rotate">${hidden}
<label for="grace-${esc(k.id)}">Grace period (hours)</label><input id="grace-${esc(k.id)}" name="grace_hours" type="number" min="0" max="168" value="24"><button type="submit">Rotate</button></form>
<form method="post" action="/keys/${esc(k.id)}/revoke">${hidden}
<label><input type="checkbox" name="confirm" value="yes" required> I understand requests with ${esc(k.name)} will fail</label><button class="danger" type="submit">Revoke</button></form>`;
      const expired = !k.revoked_at && k.expires_at && Date.parse(k.expires_at) <= Date.now();
      return `<tr><td>${esc(k.name)}<br><code>${esc(k.redacted)}</code></td><td>${describeScopes(k.scopes)}</td>
<td>${k.project_access === 'own' ? 'this project only' : 'all my projects'}</td><td>${k.rate_limit ? `${k.rate_limit}/min` : 'project default'}</td>
<td>${k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : expired ? 'expired' : 'active'}</td><td>${k.last_used_at ? fmtTime(k.last_used_at) : 'never'}</td><td>${k.expires_at ? fmtTime(k.expires_at) : 'never'}</td>
<td>${actions}</td></tr>`;
    })
    .join('');
}

/** The form that creates a key. */
export function keyForm(projectId: string, csrf: string): string {
  const preset = (value: string, label: string, checked = false) =>
    `<label><input type="radio" name="preset" value="${value}"${checked ? ' checked' : ''}> ${esc(label)}</label>`;
  return `<section><h2>Create an API key</h2><form method="post" action="/projects/${esc(projectId)}/keys">${csrfField(csrf)}
<label for="key-name">Key name</label><input id="key-name" name="name" required maxlength="100">
<fieldset><legend>Scopes</legend>${preset('full', SCOPE_PRESETS.full.label, true)}${preset('read', SCOPE_PRESETS.read.label)}${preset('custom', 'Custom: the scopes ticked below')}
<fieldset><legend>Custom scopes</legend>${SCOPES.map((s) => `<label><input type="checkbox" name="scopes" value="${s}"> ${s}</label>`).join('')}</fieldset></fieldset>
<label for="access">Project restriction</label><select id="access" name="project_access"><option value="own">Only this project (other projects look absent)</option><option value="member">Every project I am a member of</option></select>
<fieldset><legend>Expiry (optional, UTC)</legend><p class="hint" id="expiry-hint">Leave the date empty for a key that never expires; the time defaults to 23:59 UTC.</p>
<label for="expires-date">Date</label><input id="expires-date" name="expires_date" type="date" aria-describedby="expiry-hint">
<label for="expires-time">Time (UTC)</label><input id="expires-time" name="expires_time" type="time" aria-describedby="expiry-hint"></fieldset>
<label for="rate">Rate limit, requests per minute (optional)</label><p class="hint" id="rate-hint">Empty: the project's limit. At most the project's limit.</p><input id="rate" name="rate_limit" type="number" min="1" aria-describedby="rate-hint">
<button type="submit">Create key</button></form></section>`;
}

/** The secret of a key or app, shown once with a copy button. */
export function secretSection(label: string, secret: string, back: string, extra = ''): string {
  return `<section class="secret" role="status"><h2>${esc(label)}</h2>
<p><strong>Copy it now: it is shown only once.</strong> The platform keeps only a hash; reloading this page will not show it again.</p>
<p><code id="secret">${esc(secret)}</code> ${copyButton(secret, `Copy ${label}`)}</p>${extra}<p><a href="${esc(back)}">I have stored it — continue</a></p></section>`;
}

/** API keys: create (presets, restriction, expiry, limit), rotate with grace, revoke. */
export function registerKeyPages(kit: Kit): void {
  kit.post('/projects/:id/keys', async (req, reply, ctx) => {
    const id = idParam(req);
    const form = req.body as Form;
    const preset = str(form, 'preset') || 'full';
    const scopes =
      preset === 'custom'
        ? list(form, 'scopes')
        : [...(SCOPE_PRESETS[preset as keyof typeof SCOPE_PRESETS]?.scopes ?? SCOPES)];
    const expires = expiresAt(str(form, 'expires_date'), str(form, 'expires_time'));
    const rate = str(form, 'rate_limit');
    try {
      const key = await ctx.call<ApiKeyWithSecret>('POST', '/keys', {
        project_id: id,
        name: str(form, 'name'),
        // Custom with nothing ticked is sent as such: the API says "at least one scope".
        scopes,
        ...(str(form, 'project_access') ? { project_access: str(form, 'project_access') } : {}),
        ...(expires ? { expires_at: expires } : {}),
        ...(rate ? { rate_limit: /^\d+$/.test(rate) ? Number(rate) : rate } : {}),
      });
      return kit.view(
        reply,
        ctx,
        'Key created',
        secretSection(`Secret of ${key.name}`, key.secret, `/projects/${id}`),
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Create an API key', err, `/projects/${id}`);
    }
  });

  kit.post('/keys/:id/rotate', async (req, reply, ctx) => {
    const id = idParam(req);
    const form = req.body as Form;
    const hours = Number(str(form, 'grace_hours') || '24');
    const back = isIdShaped(str(form, 'project_id'))
      ? `/projects/${str(form, 'project_id')}`
      : '/projects';
    try {
      const key = await ctx.call<ApiKeyWithSecret>('POST', `/keys/${id}/rotate`, {
        grace_period_seconds: Number.isFinite(hours) ? Math.round(hours * 3600) : hours,
      });
      return kit.view(
        reply,
        ctx,
        'Key rotated',
        secretSection(
          `New secret of ${key.name}`,
          key.secret,
          `/projects/${key.project_id}`,
          `<p>The previous secret keeps working until ${fmtTime(key.previous_secret_expires_at ?? null)}.</p>`,
        ),
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Rotate key', err, back);
    }
  });

  kit.post('/keys/:id/revoke', async (req, reply, ctx) => {
    const id = idParam(req);
    const form = req.body as Form;
    const back = isIdShaped(str(form, 'project_id'))
      ? `/projects/${str(form, 'project_id')}`
      : '/projects';
    if (str(form, 'confirm') !== 'yes') {
      return kit.view(
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
      return kit.failed(reply, ctx, 'Revoke key', err, back);
    }
  });
}
