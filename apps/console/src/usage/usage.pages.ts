import type { UsageReport } from '@cap/contracts';
import { idParam, Kit } from '../pages';
import { esc, fmtTime } from '../views';
import { barChart, slotsBetween, toSeries } from './usage.chart';

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

/** A project's usage: a chart over a range, split by key, endpoint or status, with totals. */
export function registerUsagePages(kit: Kit): void {
  kit.get('/projects/:id/usage', async (req, reply, ctx) => {
    const id = idParam(req);
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
    const controls = `<form method="get" action="/projects/${esc(id)}/usage" class="row-actions">
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
      return kit.view(
        reply,
        ctx,
        'Usage',
        `<p><a href="/projects/${esc(id)}">Back to the project</a></p><section>${controls}</section>
<section><h2>Requests, last ${esc(range)}</h2><p>Total: <strong data-testid="usage-total">${total}</strong> requests · data complete up to ${fmtTime(report.complete_through)}</p>
${total ? barChart(slots, series, `Requests per ${granularity}, last ${range}`) : '<p class="muted">No requests in this range yet.</p>'}
${groupBy && totals ? `<h3>Totals by ${esc(groupBy)}</h3><ul>${totals}</ul>` : ''}</section>`,
      );
    } catch (err) {
      return kit.failed(reply, ctx, 'Usage', err, `/projects/${id}`);
    }
  });
}
