import { Injectable } from '@nestjs/common';
import { ApiKey, KeyPrincipal, ListPage } from '@cap/contracts';
import { Prisma } from '@cap/db';
import { redactApiKey } from '@cap/auth';
import { Database } from '@cap/db';
import { isoOrNull, isoSeconds } from '../timestamps';

const KEY_FIELDS = {
  id: true,
  projectId: true,
  createdBy: true,
  name: true,
  last4: true,
  scopes: true,
  rateLimit: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
  createdAt: true,
} as const;
export type KeyRow = Prisma.ApiKeyGetPayload<{ select: typeof KEY_FIELDS }>;

export function toApiKey(row: KeyRow): ApiKey {
  return {
    id: row.id,
    project_id: row.projectId,
    name: row.name,
    redacted: redactApiKey(row.last4),
    scopes: row.scopes,
    rate_limit: row.rateLimit,
    expires_at: isoOrNull(row.expiresAt),
    last_used_at: isoOrNull(row.lastUsedAt),
    revoked_at: isoOrNull(row.revokedAt),
    created_at: isoSeconds(row.createdAt),
  };
}

export interface NewKey {
  id: string;
  projectId: string;
  createdBy: string;
  name: string;
  secretHash: string;
  last4: string;
  scopes: string[];
  rateLimit: number | null;
  expiresAt: Date | null;
}

@Injectable()
export class KeysRepository {
  constructor(private readonly db: Database) {}

  async create(key: NewKey): Promise<KeyRow> {
    return this.db.client.apiKey.create({ data: key, select: KEY_FIELDS });
  }

  /** Keys of a project, newest first, after the cursor key; `null` if the cursor is not one. */
  async listForProject(
    projectId: string,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<ApiKey> | null> {
    let where: Prisma.ApiKeyWhereInput = { projectId };
    if (startingAfter) {
      const cursor = await this.db.client.apiKey.findFirst({
        where: { projectId, id: startingAfter },
        select: { id: true, createdAt: true },
      });
      if (!cursor) return null;
      where = {
        projectId,
        OR: [
          { createdAt: { lt: cursor.createdAt } },
          { createdAt: cursor.createdAt, id: { lt: cursor.id } },
        ],
      };
    }
    const rows = await this.db.client.apiKey.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      select: KEY_FIELDS,
    });
    return { data: rows.slice(0, limit).map(toApiKey), has_more: rows.length > limit };
  }

  async findById(id: string): Promise<KeyRow | null> {
    return this.db.client.apiKey.findFirst({
      where: { id, project: { deletedAt: null } },
      select: KEY_FIELDS,
    });
  }

  /** Marks the key revoked now (keeping the first revocation time); returns it. */
  async revoke(id: string): Promise<KeyRow> {
    await this.db.client.apiKey.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return this.db.client.apiKey.findUniqueOrThrow({ where: { id }, select: KEY_FIELDS });
  }

  /**
   * The principal of a usable key: not revoked, not expired, its project live and its creator
   * still a member of it. One indexed query.
   */
  async findUsableByHash(secretHash: string): Promise<KeyPrincipal | null> {
    const rows = await this.db.client.$queryRaw<
      Array<{
        id: string;
        created_by: string;
        project_id: string;
        scopes: string[];
        rate_limit: number | null;
        expires_at: Date | null;
      }>
    >`
      SELECT k.id, k.created_by, k.project_id, k.scopes, k.rate_limit, k.expires_at
      FROM api_keys k
      JOIN projects p ON p.id = k.project_id AND p.deleted_at IS NULL
      JOIN memberships m ON m.project_id = k.project_id AND m.user_id = k.created_by
      WHERE k.secret_hash = ${secretHash}
        AND k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())`;
    const row = rows[0];
    if (!row) return null;
    return {
      key_id: row.id,
      user_id: row.created_by,
      project_id: row.project_id,
      scopes: row.scopes,
      rate_limit: row.rate_limit,
      expires_at: isoOrNull(row.expires_at),
    };
  }
}
