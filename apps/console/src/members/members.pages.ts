import { Invitation, ListPage, Member, MEMBER_ROLES, MemberRole, Project } from '@cap/contracts';
import { Form, idParam, Kit, str } from '../pages';
import { csrfField, esc, fmtTime, table } from '../views';

const ROLE_HELP: Record<MemberRole, string> = {
  owner: 'everything, including deleting the project',
  admin: 'members, keys of anyone, rename',
  developer: 'own keys, usage',
  viewer: 'read only',
};

/** "an owner", "a viewer". */
const withArticle = (role: string) => (/^[aeiou]/.test(role) ? `an ${role}` : `a ${role}`);

const roleOptions = (selected = 'developer') =>
  MEMBER_ROLES.map(
    (r) =>
      `<option value="${r}"${r === selected ? ' selected' : ''}>${r} — ${esc(ROLE_HELP[r])}</option>`,
  ).join('');

/**
 * A project's members and invitations (`/v1/projects/{id}/members`, `/invitations`), and the
 * invitations waiting for the signed-in user (`/v1/invitations`, accept).
 */
export function registerMemberPages(kit: Kit): void {
  kit.get('/projects/:id/members', async (req, reply, ctx) => {
    const id = idParam(req);
    const q = req.query as Record<string, string | undefined>;
    try {
      const [project, members, invitations] = await Promise.all([
        ctx.call<Project>('GET', `/projects/${id}`),
        ctx.call<ListPage<Member>>('GET', `/projects/${id}/members?limit=100`),
        ctx.call<ListPage<Invitation>>('GET', `/projects/${id}/invitations?limit=100`),
      ]);
      const csrf = csrfField(ctx.session.csrf);
      const me = ctx.session.user?.id;
      // Owners and admins get a role selector on each row; the API decides what each may change
      // (an admin's attempt on an owner comes back as its readable 403).
      const myRole = members.data.find((m) => m.user_id === me)?.role;
      const mayChangeRoles = myRole === 'owner' || myRole === 'admin';
      const roleCell = (m: Member, self: boolean) => {
        if (!mayChangeRoles) return esc(m.role);
        const field = `role-${esc(m.user_id)}`;
        const who = self ? 'your role' : `the role of ${esc(m.email)}`;
        return `<form method="post" action="/projects/${esc(id)}/members/${esc(m.user_id)}/role">${csrf}
<label for="${field}"><span class="sr">Change ${who}: </span>now ${esc(m.role)}</label><select id="${field}" name="role">${roleOptions(m.role)}</select><button type="submit">Change role</button></form>`;
      };
      const memberRows = members.data
        .map((m) => {
          const self = m.user_id === me;
          const label = self ? 'Leave this project' : `Remove ${m.email}`;
          return `<tr><td>${esc(m.email)}${self ? ' <strong>(you)</strong>' : ''}</td><td>${esc(m.name ?? '—')}</td><td>${roleCell(m, self)}</td><td>${fmtTime(m.created_at)}</td>
<td><form method="post" action="/projects/${esc(id)}/members/${esc(m.user_id)}/remove">${csrf}
<label><input type="checkbox" name="confirm" value="yes" required> ${esc(label)}: their keys for this project stop working</label><button class="danger" type="submit">${self ? 'Leave' : 'Remove'}</button></form></td></tr>`;
        })
        .join('');
      const invitationRows = invitations.data
        .map(
          (i) =>
            `<tr><td>${esc(i.email)}</td><td>${esc(i.role)}</td><td>${fmtTime(i.created_at)}</td><td>${fmtTime(i.expires_at)}</td>
<td><form method="post" action="/projects/${esc(id)}/invitations/${esc(i.id)}/revoke">${csrf}<button class="danger" type="submit" aria-label="Revoke the invitation of ${esc(i.email)}">Revoke</button></form></td></tr>`,
        )
        .join('');
      const changed = members.data.find((m) => m.user_id === q.role_changed);
      const notice =
        q.invited === '1'
          ? '<section role="status"><p>Invitation sent. It waits for the holder of that address to accept it (7 days).</p></section>'
          : changed
            ? `<section role="status"><p>${esc(changed.email)} is now ${esc(withArticle(changed.role))} of this project.</p></section>`
            : '';
      return kit.view(
        reply,
        ctx,
        `Members of ${project.name}`,
        `<p><a href="/projects/${esc(id)}">Back to the project</a></p>${notice}
<section><h2>Members</h2>${memberRows ? table(['Email', 'Name', 'Role', 'Since', 'Action'], memberRows) : '<p class="muted">No members visible.</p>'}
<p class="hint">${
          mayChangeRoles
            ? "Owners and admins change roles; only owners make someone an owner or change an owner's role, and the last owner keeps theirs. A member's keys stay, acting with the new role."
            : 'Only owners and admins change roles.'
        }</p></section>
<section><h2>Pending invitations</h2>${invitationRows ? table(['Email', 'Role', 'Invited', 'Expires', 'Action'], invitationRows) : '<p class="muted">No pending invitations.</p>'}</section>
<section><h2>Invite someone</h2><p>Anyone can be invited by email; they join once they accept with that address verified. Only owners may invite owners.</p>
<form method="post" action="/projects/${esc(id)}/members">${csrf}
<label for="invite-email">Email</label><input id="invite-email" name="email" type="email" required maxlength="254" autocomplete="off">
<label for="invite-role">Role</label><select id="invite-role" name="role">${roleOptions()}</select>
<button type="submit">Send invitation</button></form></section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Members', err, `/projects/${id}`);
    }
  });

  kit.post('/projects/:id/members', async (req, reply, ctx) => {
    const id = idParam(req);
    const form = req.body as Form;
    try {
      await ctx.call<Invitation>('POST', `/projects/${id}/members`, {
        email: str(form, 'email'),
        role: str(form, 'role'),
      });
      return reply.redirect(`/projects/${id}/members?invited=1`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Invite someone', err, `/projects/${id}/members`);
    }
  });

  kit.post('/projects/:id/members/:user_id/remove', async (req, reply, ctx) => {
    const id = idParam(req);
    const userId = idParam(req, 'user_id');
    const back = `/projects/${id}/members`;
    if (str(req.body as Form, 'confirm') !== 'yes') {
      return kit.view(
        reply,
        ctx,
        'Remove member',
        `<section class="error" role="alert"><p>Tick the confirmation to remove the member; nobody was removed.</p><p><a href="${esc(back)}">Back</a></p></section>`,
        400,
      );
    }
    try {
      await ctx.call('DELETE', `/projects/${id}/members/${userId}`);
      return reply.redirect(userId === ctx.session.user?.id ? '/projects' : back, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Remove member', err, back);
    }
  });

  kit.post('/projects/:id/members/:user_id/role', async (req, reply, ctx) => {
    const id = idParam(req);
    const userId = idParam(req, 'user_id');
    const back = `/projects/${id}/members`;
    try {
      const member = await ctx.call<Member>('PATCH', `/projects/${id}/members/${userId}`, {
        role: str(req.body as Form, 'role'),
      });
      return reply.redirect(`${back}?role_changed=${encodeURIComponent(member.user_id)}`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Change role', err, back);
    }
  });

  kit.post('/projects/:id/invitations/:invitation_id/revoke', async (req, reply, ctx) => {
    const id = idParam(req);
    const invitationId = idParam(req, 'invitation_id');
    try {
      await ctx.call('DELETE', `/projects/${id}/invitations/${invitationId}`);
      return reply.redirect(`/projects/${id}/members`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Revoke invitation', err, `/projects/${id}/members`);
    }
  });

  kit.get('/invitations', async (_req, reply, ctx) => {
    try {
      const invitations = await ctx.call<ListPage<Invitation>>('GET', '/invitations?limit=100');
      const csrf = csrfField(ctx.session.csrf);
      const rows = invitations.data
        .map(
          (i) =>
            `<tr><td>${esc(i.project_name)}<br><code>${esc(i.project_id)}</code></td><td>${esc(i.role)}</td><td>${fmtTime(i.created_at)}</td><td>${fmtTime(i.expires_at)}</td>
<td><form method="post" action="/invitations/${esc(i.id)}/accept">${csrf}<button type="submit" aria-label="Accept the invitation to ${esc(i.project_name)}">Accept</button></form></td></tr>`,
        )
        .join('');
      return kit.view(
        reply,
        ctx,
        'Invitations',
        `<section><h2>Waiting for you</h2>${
          rows
            ? table(['Project', 'Role', 'Invited', 'Expires', 'Action'], rows)
            : '<p class="muted">No invitations are waiting for you. Invitations reach verified addresses only: if you expect one, follow the verification link mailed to you at sign-up.</p>'
        }</section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Invitations', err);
    }
  });

  kit.post('/invitations/:id/accept', async (req, reply, ctx) => {
    const id = idParam(req);
    try {
      const accepted = await ctx.call<Invitation>('POST', `/invitations/${id}/accept`);
      return reply.redirect(`/projects/${accepted.project_id}`, 303);
    } catch (err) {
      return kit.failed(reply, ctx, 'Accept invitation', err, '/invitations');
    }
  });
}
