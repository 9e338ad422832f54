import { Injectable } from '@nestjs/common';
import { actorOf, Principal } from '@cap/auth';
import { DomainError, USAGE_BUCKET_MS, UsageQuery, UsageReport } from '@cap/contracts';
import { Upstream } from '../upstream/upstream';

/** The most buckets one query may return. */
const MAX_BUCKETS = 1_500;

@Injectable()
export class UsageService {
  constructor(private readonly upstream: Upstream) {}

  async query(principal: Principal, q: UsageQuery): Promise<UsageReport> {
    const start = Date.parse(q.start);
    const end = Date.parse(q.end);
    if (!(start < end)) {
      throw new DomainError('invalid_request', 'end must be after start.', { param: 'end' });
    }
    const buckets = Math.ceil((end - start) / USAGE_BUCKET_MS[q.granularity]);
    if (buckets > MAX_BUCKETS) {
      throw new DomainError(
        'invalid_request',
        `That range has ${buckets} ${q.granularity} buckets; at most ${MAX_BUCKETS} are allowed. ` +
          'Use a coarser granularity or a shorter range.',
        { param: 'granularity' },
      );
    }
    return this.upstream.usage.call('usage.query', {
      v: 1,
      actor: actorOf(principal),
      project_id: q.project_id,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      granularity: q.granularity,
      group_by: q.group_by,
    });
  }
}
