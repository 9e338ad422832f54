import { Injectable } from '@nestjs/common';
import {
  isoSeconds,
  projectNotFound,
  USAGE_BUCKET_MS,
  UsageBucket,
  UsageJobs,
  UsageReport,
} from '@cap/contracts';
import { UsageRepository } from '../usage.repository';

type Req = UsageJobs['usage.query']['req'];

/** A gateway not heard from for this long no longer holds back `complete_through`. */
const LIVE_SECONDS = 30;

function floorTo(ms: number, size: number): number {
  return Math.floor(ms / size) * size;
}

@Injectable()
export class UsageQueryService {
  constructor(private readonly usage: UsageRepository) {}

  async query(req: Req): Promise<UsageReport> {
    // The watermark is read before the rows: everything it covers is already in them.
    const [member, watermark] = await Promise.all([
      this.usage.isMember(req.project_id, req.actor.user_id),
      this.usage.completeThrough(LIVE_SECONDS),
    ]);
    // A key confined to its project sees no other, as if it did not exist.
    const confined =
      req.actor.confined_to !== undefined && req.actor.confined_to !== req.project_id;
    if (!member || confined) throw projectNotFound(req.project_id);
    const through = watermark ?? new Date();
    const size = USAGE_BUCKET_MS[req.granularity];
    const start = floorTo(Date.parse(req.start), size);
    // Whole seconds, as the answer states it: a range ending at 12:10:00.5 must not hold a
    // bucket starting at 12:10:00 while saying it ends at 12:10:00.
    const end = Math.floor(Date.parse(req.end) / 1000) * 1000;
    const rows = await this.usage.buckets({
      projectId: req.project_id,
      granularity: req.granularity,
      start: new Date(start),
      end: new Date(end),
      groupBy: req.group_by,
    });
    let data: UsageBucket[];
    if (req.group_by) {
      const field = req.group_by;
      data = rows.map((r) => ({
        start: isoSeconds(r.bucket_start),
        [field]: r.grp ?? '',
        requests: Number(r.requests),
      }));
    } else {
      // Every bucket of the range, zeros included: what a chart wants.
      const counts = new Map(rows.map((r) => [r.bucket_start.getTime(), Number(r.requests)]));
      data = [];
      for (let t = start; t < end; t += size) {
        data.push({ start: isoSeconds(new Date(t)), requests: counts.get(t) ?? 0 });
      }
    }
    return {
      project_id: req.project_id,
      granularity: req.granularity,
      start: isoSeconds(new Date(start)),
      end: isoSeconds(new Date(end)),
      group_by: req.group_by ?? null,
      total_requests: rows.reduce((n, r) => n + Number(r.requests), 0),
      complete_through: isoSeconds(through),
      data,
    };
  }
}
