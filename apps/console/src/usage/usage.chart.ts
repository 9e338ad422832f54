import type { UsageBucket } from '@cap/contracts';
import { esc } from '../views';

export interface Series {
  name: string;
  points: Map<string, number>;
}

const COLORS = ['#0b3d91', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e', '#57606a'];

/** Buckets by series (the group value, or "requests"), over every bucket start in order. */
export function toSeries(buckets: UsageBucket[], groupBy: string | null): Series[] {
  const series = new Map<string, Map<string, number>>();
  for (const b of buckets) {
    const group = groupBy
      ? ((b as Record<string, string | number | undefined>)[groupBy]?.toString() ?? 'other')
      : 'requests';
    const points = series.get(group) ?? new Map<string, number>();
    const at = new Date(b.start).toISOString();
    points.set(at, (points.get(at) ?? 0) + b.requests);
    series.set(group, points);
  }
  return [...series.entries()].map(([name, points]) => ({ name, points }));
}

/**
 * A bar chart as inline SVG (stacked by series), drawn on the server: no chart library, no
 * script, a fixed aspect ratio so nothing shifts when it arrives.
 */
export function barChart(slots: string[], series: Series[], title: string): string {
  const W = 900;
  const H = 300;
  const left = 48;
  const bottom = 24;
  const totals = slots.map((s) => series.reduce((n, x) => n + (x.points.get(s) ?? 0), 0));
  const max = Math.max(1, ...totals);
  const bw = (W - left) / Math.max(1, slots.length);
  const y = (v: number) => ((H - bottom) * v) / max;
  let bars = '';
  slots.forEach((slot, i) => {
    let acc = 0;
    series.forEach((s, k) => {
      const v = s.points.get(slot) ?? 0;
      if (!v) return;
      const h = y(v);
      bars += `<rect x="${(left + i * bw).toFixed(1)}" y="${(H - bottom - y(acc) - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[k % COLORS.length]}"><title>${esc(slot)} ${esc(s.name)}: ${v}</title></rect>`;
      acc += v;
    });
  });
  const axis = `<line x1="${left}" y1="${H - bottom}" x2="${W}" y2="${H - bottom}" stroke="#57606a"/>
<text x="${left - 6}" y="12" text-anchor="end" font-size="12">${max}</text>
<text x="${left - 6}" y="${H - bottom}" text-anchor="end" font-size="12">0</text>
<text x="${left}" y="${H - 6}" font-size="12">${esc(slots[0] ?? '')}</text>
<text x="${W}" y="${H - 6}" font-size="12" text-anchor="end">${esc(slots[slots.length - 1] ?? '')}</text>`;
  const legend = series
    .map(
      (s, k) =>
        `<li><span aria-hidden="true" style="display:inline-block;width:.8em;height:.8em;background:${COLORS[k % COLORS.length]}"></span> ${esc(s.name)}</li>`,
    )
    .join('');
  return `<figure style="margin:0"><svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${axis}${bars}</svg>
<figcaption><ul style="list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:1rem">${legend}</ul></figcaption></figure>`;
}

/** Every bucket start from `start` to `end` at this granularity, as the API writes them. */
export function slotsBetween(start: Date, end: Date, granularity: 'minute' | 'hour' | 'day') {
  const step = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[granularity];
  const first = Math.floor(start.getTime() / step) * step;
  const slots: string[] = [];
  for (let t = first; t < end.getTime(); t += step) slots.push(new Date(t).toISOString());
  return slots;
}
