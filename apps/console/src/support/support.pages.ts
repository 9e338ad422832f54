import type { ListPage, SupportTicket } from '@cap/contracts';
import { ApiError } from '../api.client';
import { Form, idParam, Kit, list, str } from '../pages';
import type { FailedRequest } from '../session.store';
import { csrfField, esc, fmtTime, table } from '../views';

const REQUEST_ID = /^req_[0-9A-Za-z]{1,100}$/;
/** What the API accepts on one ticket. */
const MAX_IDS = 20;

/** The request ids of a ticket form: ticked recent failures, then pasted ones; deduplicated. */
export function requestIdsOf(form: Form): { ids: string[]; malformed: string[] } {
  const pasted = str(form, 'request_ids')
    .split(/[\s,;]+/)
    .filter(Boolean);
  const all = [...new Set([...list(form, 'picked'), ...pasted])];
  return {
    ids: all.filter((id) => REQUEST_ID.test(id)),
    malformed: all.filter((id) => !REQUEST_ID.test(id)),
  };
}

/** The index in `request_ids` the API refused as "not one of your requests", if that was it. */
function foreignIndex(err: unknown): number | undefined {
  if (!(err instanceof ApiError) || err.status !== 400) return undefined;
  const m = /^request_ids\.(\d+)$/.exec(err.body.param ?? '');
  return m && /not the id of one of your requests/.test(err.body.message)
    ? Number(m[1])
    : undefined;
}

const failureLabel = (f: FailedRequest) =>
  `${esc(f.method)} ${esc(f.path)} — ${f.status} ${esc(f.code)} — ${fmtTime(new Date(f.at).toISOString())}`;

/**
 * Support: tickets with request ids, pasted or picked from the calls the console made for the
 * user that failed (kept in the session, newest 20).
 */
export function registerSupportPages(kit: Kit): void {
  kit.get('/support', async (req, reply, ctx) => {
    const q = req.query as Record<string, string | undefined>;
    const prefill =
      typeof q.request_id === 'string' && REQUEST_ID.test(q.request_id) ? q.request_id : '';
    try {
      const [tickets, failures] = await Promise.all([
        ctx.call<ListPage<SupportTicket>>('GET', '/support/tickets?limit=100'),
        ctx.failures(),
      ]);
      const known = failures.some((f) => f.request_id === prefill);
      const picks = failures
        .map(
          (f, i) =>
            `<label><input type="checkbox" name="picked" value="${esc(f.request_id)}"${f.request_id === prefill ? ' checked' : ''} id="pick-${i}"> <code>${esc(f.request_id)}</code> ${failureLabel(f)}</label>`,
        )
        .join('');
      const rows = tickets.data
        .map(
          (t) =>
            `<tr><td><a href="/support/tickets/${esc(t.id)}">${esc(t.subject)}</a></td><td>${esc(t.status)}</td><td>${t.request_ids.length}</td><td>${fmtTime(t.created_at)}</td></tr>`,
        )
        .join('');
      return kit.view(
        reply,
        ctx,
        'Support',
        `<section><h2>Open a ticket</h2><form method="post" action="/support/tickets">${csrfField(ctx.session.csrf)}
<label for="subject">Subject</label><input id="subject" name="subject" required maxlength="100" value="${prefill ? `Request ${esc(prefill)} failed` : ''}">
<label for="body">What happened?</label><textarea id="body" name="body" rows="5" required></textarea>
<fieldset><legend>Your recent failed requests (made by this console)</legend>${picks || '<p class="muted">None in this session.</p>'}</fieldset>
<label for="request_ids">Other request ids (from the Request-Id header; paste, one per line)</label><textarea id="request_ids" name="request_ids" rows="3">${known ? '' : esc(prefill)}</textarea>
<p class="hint">At most ${MAX_IDS}. Ids the platform cannot tie to your account (such as the answer to a revoked key) are quoted in your message instead.</p>
<button type="submit">Open ticket</button></form></section>
<section><h2>Your tickets</h2>${rows ? table(['Subject', 'Status', 'Request ids', 'Opened'], rows) : '<p class="muted">No tickets yet.</p>'}</section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Support', err);
    }
  });

  kit.post('/support/tickets', async (req, reply, ctx) => {
    const form = req.body as Form;
    const { ids, malformed } = requestIdsOf(form);
    const unverified: string[] = [...malformed];
    let attached = ids.slice(0, MAX_IDS);
    unverified.push(...ids.slice(MAX_IDS));
    const bodyOf = () =>
      unverified.length
        ? `${str(form, 'body')}\n\nRequest ids the platform could not tie to my account (for example the answer to a revoked or unknown key):\n${unverified.map((id) => `- ${id}`).join('\n')}`
        : str(form, 'body');
    try {
      // The gateway proves each attached id is the user's. An id it refuses as someone else's —
      // a revoked key's 401 belongs to nobody — moves into the message, and the ticket opens.
      for (;;) {
        try {
          const t = await ctx.call<SupportTicket>(
            'POST',
            '/support/tickets',
            { subject: str(form, 'subject'), body: bodyOf(), request_ids: attached },
            { unrecorded: (e) => foreignIndex(e) !== undefined },
          );
          return reply.redirect(
            `/support/tickets/${t.id}${unverified.length ? `?unverified=${unverified.length}` : ''}`,
            303,
          );
        } catch (err) {
          const i = foreignIndex(err);
          if (i === undefined || i >= attached.length) throw err;
          unverified.push(attached[i]);
          attached = attached.filter((_, j) => j !== i);
        }
      }
    } catch (err) {
      return kit.failed(reply, ctx, 'Open a ticket', err, '/support');
    }
  });

  kit.get('/support/tickets/:id', async (req, reply, ctx) => {
    const id = idParam(req);
    const q = req.query as Record<string, string | undefined>;
    try {
      const t = await ctx.call<SupportTicket>('GET', `/support/tickets/${id}`);
      const notice =
        q.unverified && /^\d+$/.test(q.unverified)
          ? `<section role="status"><p>${esc(q.unverified)} request id(s) could not be tied to your account; they are quoted in the message for the support team.</p></section>`
          : '';
      return kit.view(
        reply,
        ctx,
        `Ticket: ${t.subject}`,
        `${notice}<section><p>Status: <strong>${esc(t.status)}</strong> · opened ${fmtTime(t.created_at)} · <code>${esc(t.id)}</code></p>
<h2>Message</h2><p style="white-space:pre-wrap">${esc(t.body)}</p><h2>Request ids attached</h2>${t.request_ids.length ? `<ul>${t.request_ids.map((r) => `<li><code>${esc(r)}</code></li>`).join('')}</ul>` : '<p class="muted">None attached.</p>'}</section><p><a href="/support">All tickets</a></p>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Ticket', err, '/support');
    }
  });
}
