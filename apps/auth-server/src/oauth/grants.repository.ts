import { Injectable } from '@nestjs/common';
import type { AdapterPayload } from 'oidc-provider';
import { Database, Prisma } from '@cap/db';

const toJson = (payload: AdapterPayload): Prisma.InputJsonValue =>
  JSON.parse(JSON.stringify(payload)) as Prisma.InputJsonValue;

const expiry = (expiresIn: number | undefined, fallbackS: number) =>
  new Date(Date.now() + (expiresIn && expiresIn > 0 ? expiresIn : fallbackS) * 1000);

export interface StoredRefreshToken {
  payload: AdapterPayload;
  consumedAt: Date | null;
}

/**
 * Grants (a user's consent to a client) and the refresh tokens issued under them, in Postgres:
 * they outlive restarts and are shared by every replica. Refresh tokens are stored under the
 * SHA-256 of their value, which the caller computes.
 */
@Injectable()
export class GrantsRepository {
  constructor(private readonly db: Database) {}

  async upsertGrant(id: string, payload: AdapterPayload, expiresIn: number | undefined) {
    const data = {
      accountId: String(payload.accountId ?? ''),
      clientId: String(payload.clientId ?? ''),
      payload: toJson(payload),
      expiresAt: expiry(expiresIn, 365 * 86_400),
    };
    await this.db.client.oauthGrant.upsert({
      where: { id },
      create: { id, ...data },
      update: data,
    });
  }

  async findGrant(id: string): Promise<AdapterPayload | undefined> {
    const row = await this.db.client.oauthGrant.findUnique({
      where: { id },
      select: { payload: true },
    });
    return row ? (row.payload as AdapterPayload) : undefined;
  }

  /** The newest unexpired grant of `accountId` to `clientId`: the consent to remember. */
  async findLatestGrantId(accountId: string, clientId: string): Promise<string | undefined> {
    const row = await this.db.client.oauthGrant.findFirst({
      where: { accountId, clientId, expiresAt: { gt: new Date() } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      select: { id: true },
    });
    return row?.id;
  }

  /** Whether the grant still exists (it is deleted when revoked). */
  async grantExists(id: string): Promise<boolean> {
    const row = await this.db.client.oauthGrant.findFirst({
      where: { id, expiresAt: { gt: new Date() } },
      select: { id: true },
    });
    return row !== null;
  }

  /** Deletes the grant and every refresh token issued under it, in one transaction. */
  async deleteGrantAndTokens(id: string): Promise<void> {
    await this.db.client.$transaction([
      this.db.client.oauthRefreshToken.deleteMany({ where: { grantId: id } }),
      this.db.client.oauthGrant.deleteMany({ where: { id } }),
    ]);
  }

  async upsertRefreshToken(idHash: string, payload: AdapterPayload, expiresIn?: number) {
    const data = {
      grantId: String(payload.grantId ?? ''),
      clientId: String(payload.clientId ?? ''),
      accountId: String(payload.accountId ?? ''),
      payload: toJson(payload),
      expiresAt: expiry(expiresIn, 30 * 86_400),
    };
    await this.db.client.oauthRefreshToken.upsert({
      where: { id: idHash },
      create: { id: idHash, ...data },
      update: data,
    });
  }

  async findRefreshToken(idHash: string): Promise<StoredRefreshToken | undefined> {
    const row = await this.db.client.oauthRefreshToken.findUnique({
      where: { id: idHash },
      select: { payload: true, consumedAt: true },
    });
    return row ? { payload: row.payload as AdapterPayload, consumedAt: row.consumedAt } : undefined;
  }

  /**
   * Marks the token used, atomically. `consumed: false` means another request used it first (or
   * it is gone); `grantId` names its grant either way, when the token exists.
   */
  async consumeRefreshToken(idHash: string): Promise<{ consumed: boolean; grantId?: string }> {
    const [won] = await this.db.client.oauthRefreshToken.updateManyAndReturn({
      where: { id: idHash, consumedAt: null },
      data: { consumedAt: new Date() },
      select: { grantId: true },
    });
    if (won) return { consumed: true, grantId: won.grantId };
    // Lost the race, or no such token: only then is it read again.
    const row = await this.db.client.oauthRefreshToken.findUnique({
      where: { id: idHash },
      select: { grantId: true },
    });
    return { consumed: false, grantId: row?.grantId };
  }

  async deleteRefreshToken(idHash: string): Promise<void> {
    await this.db.client.oauthRefreshToken.deleteMany({ where: { id: idHash } });
  }

  async deleteRefreshTokensOfGrant(grantId: string): Promise<void> {
    await this.db.client.oauthRefreshToken.deleteMany({ where: { grantId } });
  }

  /** Deletes expired grants and refresh tokens; returns how many rows went. */
  async deleteExpired(now = new Date()): Promise<number> {
    const [tokens, grants] = await this.db.client.$transaction([
      this.db.client.oauthRefreshToken.deleteMany({ where: { expiresAt: { lte: now } } }),
      this.db.client.oauthGrant.deleteMany({ where: { expiresAt: { lte: now } } }),
    ]);
    return tokens.count + grants.count;
  }
}
