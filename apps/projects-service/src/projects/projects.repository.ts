import { Injectable } from '@nestjs/common';
import { isoSeconds, ListPage, Project } from '@cap/contracts';
import { MemberRole, Prisma } from '@cap/db';
import { Database, keysetPage } from '@cap/db';

const PROJECT_FIELDS = { id: true, name: true, regionId: true, createdAt: true } as const;
type ProjectRow = Prisma.ProjectGetPayload<{ select: typeof PROJECT_FIELDS }>;

function toProject(row: ProjectRow): Project {
  return {
    id: row.id,
    name: row.name,
    region: row.regionId,
    created_at: isoSeconds(row.createdAt),
  };
}

@Injectable()
export class ProjectsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Live projects `userId` is a member of (only `onlyProjectId`, when given), newest first, after
   * the cursor project. Returns `null` when the cursor is not one of them.
   */
  async listForUser(
    userId: string,
    limit: number,
    startingAfter?: string,
    onlyProjectId?: string,
  ): Promise<ListPage<Project> | null> {
    const visible: Prisma.ProjectWhereInput = {
      deletedAt: null,
      memberships: { some: { userId } },
      ...(onlyProjectId === undefined ? {} : { id: onlyProjectId }),
    };
    return keysetPage({
      limit,
      startingAfter,
      order: 'desc',
      findCursor: (id) =>
        this.db.client.project.findFirst({
          where: { ...visible, id },
          select: { id: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.project.findMany({
          where: { ...visible, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: PROJECT_FIELDS,
        }),
      map: toProject,
    });
  }

  /** Creates the project with `ownerId` as its owner, in one transaction. */
  async createWithOwner(input: {
    id: string;
    name: string;
    regionId: string;
    ownerId: string;
  }): Promise<Project> {
    const row = await this.db.client.project.create({
      data: {
        id: input.id,
        name: input.name,
        regionId: input.regionId,
        memberships: { create: { userId: input.ownerId, role: 'owner' } },
      },
      select: PROJECT_FIELDS,
    });
    return toProject(row);
  }

  /** A live project, or `null`. */
  async findLive(projectId: string): Promise<Project | null> {
    const row = await this.db.client.project.findFirst({
      where: { id: projectId, deletedAt: null },
      select: PROJECT_FIELDS,
    });
    return row ? toProject(row) : null;
  }

  /** Renames a live project; `null` when there is none. */
  async rename(projectId: string, name: string): Promise<Project | null> {
    const { count } = await this.db.client.project.updateMany({
      where: { id: projectId, deletedAt: null },
      data: { name },
    });
    return count ? this.findLive(projectId) : null;
  }

  /**
   * Soft-deletes a live project and revokes its live keys, in one transaction. Memberships stay
   * (former members may still read its usage for a while). Returns the ids of the keys revoked
   * now, or `null` when the project was not live (already deleted, or never existed).
   */
  async softDelete(projectId: string): Promise<{ revokedKeyIds: string[] } | null> {
    return this.db.client.$transaction(async (tx) => {
      const now = new Date();
      const { count } = await tx.project.updateMany({
        where: { id: projectId, deletedAt: null },
        data: { deletedAt: now },
      });
      if (!count) return null;
      const revoked = await tx.$queryRaw<Array<{ id: string }>>`
        UPDATE api_keys SET revoked_at = ${now}
        WHERE project_id = ${projectId} AND revoked_at IS NULL
        RETURNING id`;
      return { revokedKeyIds: revoked.map((r) => r.id).sort() };
    });
  }

  /** The role of `userId` on a live project, or `null` when the project is not visible. */
  async roleOf(projectId: string, userId: string): Promise<MemberRole | null> {
    const row = await this.db.client.membership.findFirst({
      where: { projectId, userId, project: { deletedAt: null } },
      select: { role: true },
    });
    return row?.role ?? null;
  }

  /**
   * Sets a live project's rate limit; returns the ids of its live keys (whose effective limits
   * changed), or `null` when the project is not live.
   */
  async setRateLimit(projectId: string, rateLimit: number): Promise<{ keyIds: string[] } | null> {
    return this.db.client.$transaction(async (tx) => {
      const { count } = await tx.project.updateMany({
        where: { id: projectId, deletedAt: null },
        data: { rateLimit },
      });
      if (!count) return null;
      const keys = await tx.apiKey.findMany({
        where: { projectId, revokedAt: null },
        orderBy: { id: 'asc' },
        select: { id: true },
      });
      return { keyIds: keys.map((k) => k.id) };
    });
  }

  /** The project's earliest owner: the user operator commands act as. */
  async firstOwner(projectId: string): Promise<string | null> {
    const row = await this.db.client.membership.findFirst({
      where: { projectId, role: 'owner', project: { deletedAt: null } },
      orderBy: { createdAt: 'asc' },
      select: { userId: true },
    });
    return row?.userId ?? null;
  }
}
