import type { ListPage, OAuthClient as OAuthApp, OAuthClientWithSecret } from '@cap/contracts';
import { secretSection } from '../keys/keys.pages';
import { Form, Kit, str } from '../pages';
import { copyButton, csrfField, esc, table } from '../views';

/** Third-party OAuth apps: list, register (client id; the secret once). */
export function registerOAuthAppPages(kit: Kit): void {
  kit.get('/oauth-apps', async (_req, reply, ctx) => {
    try {
      const apps = await ctx.call<ListPage<OAuthApp>>('GET', '/oauth/clients?limit=100');
      const rows = apps.data
        .map(
          (a) =>
            `<tr><td>${esc(a.name)}</td><td><code>${esc(a.id)}</code> ${copyButton(a.id, `Copy client id of ${a.name}`)}</td><td>${esc(a.type)}</td><td>${a.redirect_uris.map(esc).join('<br>')}</td></tr>`,
        )
        .join('');
      return kit.view(
        reply,
        ctx,
        'OAuth apps',
        `<section><h2>Your apps</h2>${rows ? table(['Name', 'Client id', 'Type', 'Redirect URIs'], rows) : '<p class="muted">No apps registered yet.</p>'}</section>
<section><h2>Register an app</h2><form method="post" action="/oauth-apps">${csrfField(ctx.session.csrf)}
<label for="app-name">Name</label><input id="app-name" name="name" required maxlength="100">
<label for="redirects">Redirect URIs (one per line)</label><textarea id="redirects" name="redirect_uris" rows="3" required></textarea>
<label for="type">Type</label><select id="type" name="type"><option value="confidential">Confidential (has a secret; runs on a server)</option><option value="public">Public (no secret; PKCE)</option></select>
<button type="submit">Register app</button></form></section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'OAuth apps', err);
    }
  });

  kit.post('/oauth-apps', async (req, reply, ctx) => {
    const form = req.body as Form;
    try {
      const created = await ctx.call<OAuthClientWithSecret>('POST', '/oauth/clients', {
        name: str(form, 'name'),
        redirect_uris: str(form, 'redirect_uris').split(/\s+/).filter(Boolean),
        type: str(form, 'type') || 'confidential',
      });
      const idLine = `<p>Client id <code id="client-id">${esc(created.id)}</code> ${copyButton(created.id, 'Copy client id')}</p>`;
      if (!created.client_secret) {
        return kit.view(
          reply,
          ctx,
          'App registered',
          `<section role="status">${idLine}<p>A public app has no secret; it must use PKCE.</p><p><a href="/oauth-apps">Continue</a></p></section>`,
        );
      }
      return kit.view(
        reply,
        ctx,
        'App registered',
        secretSection(
          `Client secret of ${created.name}`,
          created.client_secret,
          '/oauth-apps',
          idLine,
        ),
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Register an app', err, '/oauth-apps');
    }
  });
}
