/**
 * Baseline "monolith": `GET /v1/projects` as one NestJS app would serve it, with no queue hop —
 * the typical stack of `typical-nest.ts` (bearer guard, `@nestjs/throttler` on Redis, a Redis
 * counter per request) in front of the same Prisma query projects-service runs, on the same
 * database as the platform in the bench (`DATABASE_URL`). Keys are looked up in `api_keys` by
 * their hash, once, then cached in the process as the platform's gateway does.
 */
import { Controller, Get, Query, Req, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { isoSeconds, listQuery } from '@cap/contracts';
import { createPrismaClient } from '@cap/db';
import { KeyCaller, KeyThrottlerGuard, serveTypical, UsageInterceptor } from './typical-nest';

const prisma = createPrismaClient({
  url: process.env.DATABASE_URL ?? '',
  poolMax: Number(process.env.DB_POOL_MAX ?? 4),
});

@Controller('v1')
@UseGuards(AuthGuard('bearer'), KeyThrottlerGuard)
@UseInterceptors(UsageInterceptor)
class ProjectsController {
  @Get('projects')
  async list(@Req() req: { user: KeyCaller }, @Query() query: unknown) {
    const { limit } = listQuery.parse(query);
    const rows = await prisma.project.findMany({
      where: { deletedAt: null, memberships: { some: { userId: req.user.userId } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      select: { id: true, name: true, regionId: true, createdAt: true },
    });
    return {
      data: rows.slice(0, limit).map((r) => ({
        id: r.id,
        name: r.name,
        region: r.regionId,
        created_at: isoSeconds(r.createdAt),
      })),
      has_more: rows.length > limit,
    };
  }
}

void serveTypical(ProjectsController, async (digest) => {
  const key = await prisma.apiKey.findFirst({
    where: { secretHash: digest, revokedAt: null },
    select: { id: true, createdBy: true, projectId: true },
  });
  return key ? { keyId: key.id, userId: key.createdBy, projectId: key.projectId } : null;
}).catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
