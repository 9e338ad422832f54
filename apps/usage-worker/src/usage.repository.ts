import { Injectable } from '@nestjs/common';
import { requestsIn, UsageBatchJob, UsageGranularity, UsageGroup } from '@cap/contracts';
import { Database, Prisma } from '@cap/db';

export interface BucketRow {
  bucket_start: Date;
  grp: string | null;
  requests: bigint;
}

const GROUP_COLUMN: Record<UsageGroup, Prisma.Sql> = {
  key: Prisma.sql`principal`,
  endpoint: Prisma.sql`endpoint`,
  status: Prisma.sql`status_class`,
};

/** The usage tables: rollups, counted batches, gateway watermarks, dead letters. */
@Injectable()
export class UsageRepository {
  constructor(private readonly db: Database) {}

  /**
   * Counts a batch once: its id is recorded in the same transaction as its rollups (minute,
   * hour and day rows in one statement), so a redelivered or retried batch adds nothing.
   * Returns whether it was counted now (false: it had been already).
   */
  async ingest(batch: UsageBatchJob): Promise<boolean> {
    const requests = requestsIn(batch.rows);
    return this.db.client.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO usage_batches (id, source, requests) VALUES (${batch.id}, ${batch.source}, ${requests})
        ON CONFLICT (id) DO NOTHING`;
      if (inserted === 1 && batch.rows.length > 0) {
        await tx.$executeRaw`
          INSERT INTO usage_rollups
            (project_id, granularity, bucket_start, principal, endpoint, status_class, count)
          SELECT r.project_id, g.granularity, date_trunc(g.granularity, r.minute, 'UTC'),
                 r.principal, r.endpoint, r.status_class, SUM(r.count)
          FROM jsonb_to_recordset(${JSON.stringify(batch.rows)}::jsonb) AS r(
                 project_id text, principal text, endpoint text, status_class text,
                 minute timestamptz, count bigint)
          CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(granularity)
          GROUP BY 1, 2, 3, 4, 5, 6
          ON CONFLICT (project_id, granularity, bucket_start, principal, endpoint, status_class)
          DO UPDATE SET count = usage_rollups.count + EXCLUDED.count`;
      }
      // A source's final batch sets its watermark to infinity, so it never holds back
      // complete_through again, even if an earlier batch of it is processed after this one.
      const through = batch.final
        ? Prisma.sql`'infinity'::timestamptz`
        : Prisma.sql`${new Date(batch.through)}`;
      await tx.$executeRaw`
        INSERT INTO usage_sources (id, flushed_through, updated_at)
        VALUES (${batch.source}, ${through}, now())
        ON CONFLICT (id) DO UPDATE SET
          flushed_through = GREATEST(usage_sources.flushed_through, EXCLUDED.flushed_through),
          updated_at = now()`;
      return inserted === 1;
    });
  }

  async deadLetter(id: string, batchId: string | null, reason: string, payload: unknown) {
    await this.db.client.usageDeadLetter.create({
      data: { id, batchId, reason, payload: (payload ?? null) as Prisma.InputJsonValue },
    });
  }

  /** Forgets counted batch ids older than `days`: far past any redelivery. */
  async pruneBatches(days: number): Promise<number> {
    return this.db.client.$executeRaw`
      DELETE FROM usage_batches WHERE received_at < now() - make_interval(days => ${days})`;
  }

  /**
   * Whether `userId` may read `projectId`'s usage (read from projects-service's tables): a
   * member of a live project, or of one deleted less than 30 days ago.
   */
  async isMember(projectId: string, userId: string): Promise<boolean> {
    const rows = await this.db.client.$queryRaw<unknown[]>`
      SELECT 1 FROM memberships m JOIN projects p ON p.id = m.project_id
      WHERE m.project_id = ${projectId} AND m.user_id = ${userId}
        AND (p.deleted_at IS NULL OR p.deleted_at > now() - interval '30 days')`;
    return rows.length > 0;
  }

  async buckets(q: {
    projectId: string;
    granularity: UsageGranularity;
    start: Date;
    end: Date;
    groupBy?: UsageGroup;
  }): Promise<BucketRow[]> {
    const group = q.groupBy ? GROUP_COLUMN[q.groupBy] : Prisma.sql`NULL::text`;
    return this.db.client.$queryRaw<BucketRow[]>`
      SELECT bucket_start, ${group} AS grp, SUM(count)::bigint AS requests
      FROM usage_rollups
      WHERE project_id = ${q.projectId} AND granularity = ${q.granularity}
        AND bucket_start >= ${q.start} AND bucket_start < ${q.end}
      GROUP BY 1, 2
      ORDER BY 1, 2`;
  }

  /**
   * The time through which every gateway that is still reporting has had its counts stored:
   * the oldest watermark among sources heard from within `liveSeconds`.
   */
  async completeThrough(liveSeconds: number): Promise<Date | null> {
    const rows = await this.db.client.$queryRaw<Array<{ through: Date | null }>>`
      SELECT least(min(flushed_through), now()) AS through FROM usage_sources
      WHERE updated_at > now() - make_interval(secs => ${liveSeconds})`;
    return rows[0]?.through ?? null;
  }
}
