import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export { Prisma, PrismaClient } from './generated/prisma/client';
export type { MemberRole } from './generated/prisma/enums';

export interface DbOptions {
  url: string;
  /** Pool size per process. Embedded PGlite serves one session, so keep it small there. */
  poolMax?: number;
}

/** A Prisma client on the `pg` driver adapter (Prisma 7 always takes an adapter). */
export function createPrismaClient(options: DbOptions): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: 5_000,
  });
  return new PrismaClient({ adapter });
}

/** Whether the database answers a trivial query. */
export async function pingDb(prisma: PrismaClient): Promise<boolean> {
  try {
    await prisma.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}
