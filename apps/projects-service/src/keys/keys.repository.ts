import { Injectable } from '@nestjs/common';
import {
  ApiKey,
  isoOrNull,
  isoSeconds,
  KeyPrincipal,
  ListPage,
  ProjectAccess,
} from '@cap/contracts';
import { Prisma } from '@cap/db';
import { redactApiKey } from '@cap/auth';
import { Database, keysetPage } from '@cap/db';

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
  projectAccess: true,
  grantId: true,
} as const;
export type KeyRow = Prisma.ApiKeyGetPayload<{ select: typeof KEY_FIELDS }>;

export function toApiKey(row: KeyRow): ApiKey {
  return {
    id: row.id,
    project_id: row.projectId,
    created_by: row.createdBy,
    name: row.name,
    redacted: redactApiKey(row.last4),
    scopes: row.scopes,
    rate_limit: row.rateLimit,
    project_access: row.projectAccess,
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
  projectAccess: ProjectAccess;
  grantId: string | null;
}

/** What the rules of key creation are checked against, read under the project's lock. */
export interface KeyQuota {
  /** The project's rate limit (per minute). */
  projectRateLimit: number;
  /** Its live (unrevoked, unexpired) keys, before this one. */
  liveKeys: number;
}

@Injectable()
export class KeysRepository {
  constructor(private readonly db: Database) {}

  /**
   * Creates the key in a live project, `null` when there is none. `check` sees the project's
   * limits as they are under the project's row lock (so that concurrent creations cannot pass
   * the cap together) and throws to refuse.
   */
  async create(key: NewKey, check: (quota: KeyQuota) => void): Promise<KeyRow | null> {
    return this.db.client.$transaction(async (tx) => {
      const [project] = await tx.$queryRaw<Array<{ rate_limit: number }>>`
        SELECT rate_limit FROM projects
        WHERE id = ${key.projectId} AND deleted_at IS NULL FOR UPDATE`;
      if (!project) return null;
      const liveKeys = await tx.apiKey.count({
        where: {
          projectId: key.projectId,
          revokedAt: null,
          OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }],
        },
      });
      check({ projectRateLimit: project.rate_limit, liveKeys });
      return tx.apiKey.create({ data: key, select: KEY_FIELDS });
    });
  }

  /** Keys of a project, newest first, after the cursor key; `null` if the cursor is not one. */
  async listForProject(
    projectId: string,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<ApiKey> | null> {
    return keysetPage({
      limit,
      startingAfter,
      order: 'desc',
      findCursor: (id) =>
        this.db.client.apiKey.findFirst({
          where: { projectId, id },
          select: { id: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.apiKey.findMany({
          where: { projectId, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: KEY_FIELDS,
        }),
      map: toApiKey,
    });
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
   * Replaces the key's secret with a new one. With a grace period the current secret becomes
   * the previous one until `now + grace` (replacing any previous secret still in grace);
   * without one it stops at once. A replay with the same new secret changes nothing. Returns
   * `null` when the key is revoked or unknown.
   */
  async rotate(input: {
    id: string;
    secretHash: string;
    last4: string;
    graceSeconds: number;
  }): Promise<{ key: KeyRow; previousExpiresAt: Date | null } | null> {
    const { id, secretHash, last4, graceSeconds } = input;
    // One statement: the previous hash is the row's current one, read under the row lock.
    await this.db.client.$executeRaw`
      UPDATE api_keys SET
        previous_secret_hash = CASE WHEN ${graceSeconds}::int > 0 THEN secret_hash END,
        previous_expires_at = CASE WHEN ${graceSeconds}::int > 0
          THEN now() + make_interval(secs => ${graceSeconds}::int) END,
        secret_hash = ${secretHash},
        last4 = ${last4}
      WHERE id = ${id} AND revoked_at IS NULL AND secret_hash <> ${secretHash}`;
    const row = await this.db.client.apiKey.findFirst({
      where: { id, revokedAt: null, secretHash },
      select: { ...KEY_FIELDS, previousExpiresAt: true },
    });
    if (!row) return null;
    const { previousExpiresAt, ...key } = row;
    return { key, previousExpiresAt };
  }

  /**
   * Records when keys were last used, from the gateways' batches: one statement for the whole
   * batch, never moving a time backwards nor past now (a gateway's clock may run ahead).
   * Unknown ids are ignored.
   */
  async touch(used: ReadonlyArray<{ keyId: string; at: Date }>): Promise<void> {
    if (used.length === 0) return;
    const ids = used.map((u) => u.keyId);
    const ats = used.map((u) => u.at.toISOString());
    await this.db.client.$executeRaw`
      UPDATE api_keys k
      SET last_used_at = GREATEST(COALESCE(k.last_used_at, '-infinity'::timestamptz), u.at)
      FROM (
        SELECT t.key_id, LEAST(max(t.at), now()) AS at
        FROM unnest(${ids}::text[], ${ats}::timestamptz[]) AS t(key_id, at)
        GROUP BY t.key_id
      ) u
      WHERE k.id = u.key_id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`;
  }

  /**
   * Revokes the live keys made under any of these OAuth grants (revoked by the user, or
   * otherwise ended); returns their ids.
   */
  async revokeForGrants(grantIds: string[]): Promise<string[]> {
    if (grantIds.length === 0) return [];
    const rows = await this.db.client.$queryRaw<Array<{ id: string }>>`
      UPDATE api_keys SET revoked_at = now()
      WHERE grant_id = ANY(${grantIds}::text[]) AND revoked_at IS NULL
      RETURNING id`;
    return rows.map((r) => r.id).sort();
  }

  /**
   * Revokes the live keys whose grant no longer exists or has expired (a revocation event that
   * was missed); returns their ids. `oauth_grants` is auth-server's: read here, never written.
   */
  async revokeOrphaned(): Promise<string[]> {
    const rows = await this.db.client.$queryRaw<Array<{ id: string }>>`
      UPDATE api_keys k SET revoked_at = now()
      WHERE k.grant_id IS NOT NULL AND k.revoked_at IS NULL
        AND NOT EXISTS (
          SELECT 1 FROM oauth_grants g WHERE g.id = k.grant_id AND g.expires_at > now())
      RETURNING k.id`;
    return rows.map((r) => r.id).sort();
  }

  /**
   * The principal of a usable key: not revoked, not expired, its project live, its creator
   * still a member of it and, for a key made with an OAuth access token, its grant still there.
   * One indexed query. The previous secret of a rotated key is usable until its grace period
   * ends; the principal then expires no later than that (nor than its grant), so that caches
   * stop accepting it on time. Its rate limit is its own capped by its project's, or the
   * project's when it has none.
   */
  async findUsableByHash(secretHash: string): Promise<KeyPrincipal | null> {
    const rows = await this.db.client.$queryRaw<
      Array<{
        id: string;
        created_by: string;
        project_id: string;
        scopes: string[];
        rate_limit: number;
        project_access: ProjectAccess;
        grant_id: string | null;
        expires_at: Date | null;
        current: boolean;
      }>
    >`
      SELECT k.id, k.created_by, k.project_id, k.scopes, (k.secret_hash = ${secretHash}) AS current,
             LEAST(k.rate_limit, p.rate_limit) AS rate_limit,
             k.project_access::text AS project_access, k.grant_id,
             LEAST(CASE WHEN k.secret_hash = ${secretHash} THEN k.expires_at
                        ELSE LEAST(k.expires_at, k.previous_expires_at) END,
                   g.expires_at) AS expires_at
      FROM api_keys k
      JOIN projects p ON p.id = k.project_id AND p.deleted_at IS NULL
      JOIN memberships m ON m.project_id = k.project_id AND m.user_id = k.created_by
      LEFT JOIN oauth_grants g ON g.id = k.grant_id
      WHERE (k.secret_hash = ${secretHash}
             OR (k.previous_secret_hash = ${secretHash} AND k.previous_expires_at > now()))
        AND k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())
        AND (k.grant_id IS NULL OR g.expires_at > now())
      ORDER BY (k.secret_hash = ${secretHash}) DESC
      LIMIT 1`;
    const row = rows[0];
    if (!row) return null;
    return {
      key_id: row.id,
      user_id: row.created_by,
      project_id: row.project_id,
      scopes: row.scopes,
      rate_limit: row.rate_limit,
      project_access: row.project_access,
      grant_id: row.grant_id,
      expires_at: isoOrNull(row.expires_at),
      ...(row.current ? {} : { superseded: true as const }),
    };
  }
}
