import type { ApiKey, ListPage, Member, Project, Region } from '@cap/contracts';
import { keyRows, keyForm } from '../keys/keys.pages';
import { Form, idParam, Kit, str } from '../pages';
import { csrfField, esc, fmtTime, table } from '../views';

/** Projects: list, create (region from /v1/regions), a project's page, rename, delete. */
export function registerProjectPages(kit: Kit): void {
  kit.get('/projects', async (_req, reply, ctx) => {
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
      return kit.view(
        reply,
        ctx,
        'Projects',
        `<section><h2>Your projects</h2>${
          rows
            ? table(['Name', 'Id', 'Region', 'Created'], rows)
            : '<p class="muted">No projects yet. Create your first one below.</p>'
        }<p><a href="/invitations">Invitations waiting for you</a></p></section>
<section><h2>Create a project</h2><form method="post" action="/projects">${csrfField(ctx.session.csrf)}
<label for="name">Name</label><input id="name" name="name" required maxlength="100">
<label for="region">Region</label><select id="region" name="region" required>${regionList.map((r) => `<option value="${esc(r.id)}">${esc(r.name)} (${esc(r.id)})</option>`).join('')}</select>
<button type="submit">Create project</button></form></section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Projects', err);
    }
  });

  kit.post('/projects', async (req, reply, ctx) => {
    const form = req.body as Form;
    try {
      const p = await ctx.call<Project>('POST', '/projects', {
        name: str(form, 'name'),
        region: str(form, 'region'),
      });
      return reply.redirect(`/projects/${p.id}`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Create a project', err, '/projects');
    }
  });

  kit.get('/projects/:id', async (req, reply, ctx) => {
    const id = idParam(req);
    try {
      const [project, keys, members] = await Promise.all([
        ctx.call<Project>('GET', `/projects/${id}`),
        ctx.call<ListPage<ApiKey>>('GET', `/keys?project_id=${id}&limit=100`),
        ctx.call<ListPage<Member>>('GET', `/projects/${id}/members?limit=100`),
      ]);
      const csrf = csrfField(ctx.session.csrf);
      const rows = keyRows(keys.data, id, ctx.session.csrf);
      return kit.view(
        reply,
        ctx,
        `Project ${project.name}`,
        `<p><code>${esc(project.id)}</code> · ${esc(project.region)} · <a href="/projects/${esc(id)}/usage">Usage</a> · <a href="/projects/${esc(id)}/members">Members and invitations (${members.data.length}${members.has_more ? '+' : ''})</a></p>
<section><h2>API keys</h2>${
          rows
            ? table(
                [
                  'Key',
                  'Scopes',
                  'Restriction',
                  'Rate limit',
                  'Status',
                  'Last used',
                  'Expires',
                  'Actions',
                ],
                rows,
              )
            : '<p class="muted">No keys yet. Create one below.</p>'
        }</section>
${keyForm(id, ctx.session.csrf)}
<section><h2>Rename</h2><form method="post" action="/projects/${esc(id)}/rename">${csrf}<label for="rename">New name</label><input id="rename" name="name" required maxlength="100" value="${esc(project.name)}"><button type="submit">Rename</button></form></section>
<section><h2>Delete this project</h2><p>This revokes all of its keys. It cannot be undone.</p><form method="post" action="/projects/${esc(id)}/delete">${csrf}
<label for="confirm-name">Type the project name <strong>${esc(project.name)}</strong> to confirm</label><input id="confirm-name" name="confirm" required autocomplete="off">
<button class="danger" type="submit">Delete project</button></form></section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Project', err, '/projects');
    }
  });

  kit.post('/projects/:id/rename', async (req, reply, ctx) => {
    const id = idParam(req);
    try {
      await ctx.call('PATCH', `/projects/${id}`, { name: str(req.body as Form, 'name') });
      return reply.redirect(`/projects/${id}`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Rename', err, `/projects/${id}`);
    }
  });

  kit.post('/projects/:id/delete', async (req, reply, ctx) => {
    const id = idParam(req);
    try {
      const project = await ctx.call<Project>('GET', `/projects/${id}`);
      if (str(req.body as Form, 'confirm') !== project.name) {
        return kit.view(
          reply,
          ctx,
          'Delete project',
          `<section class="error" role="alert"><p>The name you typed does not match <strong>${esc(project.name)}</strong>; nothing was deleted.</p><p><a href="/projects/${esc(id)}">Back</a></p></section>`,
          400,
        );
      }
      await ctx.call('DELETE', `/projects/${id}`);
      return reply.redirect('/projects', 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Delete project', err, `/projects/${id}`);
    }
  });
}
