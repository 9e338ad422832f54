import { Injectable } from '@nestjs/common';
import { Database, Prisma } from '@cap/db';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateJwkSealed: string;
  createdAt: Date;
  retiredAt: Date | null;
}

// Serialises key creation between replicas starting at once and a concurrent rotation.
const KEYS_LOCK = 72_707_370;

function toStored(row: {
  kid: string;
  alg: string;
  publicJwk: Prisma.JsonValue;
  privateJwkSealed: string;
  createdAt: Date;
  retiredAt: Date | null;
}): StoredSigningKey {
  return { ...row, publicJwk: row.publicJwk as Record<string, unknown> };
}

export type NewSigningKey = Omit<StoredSigningKey, 'createdAt' | 'retiredAt'>;

const toRow = (key: NewSigningKey) => ({
  ...key,
  publicJwk: key.publicJwk as Prisma.InputJsonObject,
});

@Injectable()
export class SigningKeysRepository {
  constructor(private readonly db: Database) {}

  /** Keys not retired, or retired after `retiredAfter`: newest first. */
  async listPublished(retiredAfter: Date): Promise<StoredSigningKey[]> {
    const rows = await this.db.client.oauthSigningKey.findMany({
      where: { OR: [{ retiredAt: null }, { retiredAt: { gt: retiredAfter } }] },
      orderBy: [{ createdAt: 'desc' }, { kid: 'desc' }],
    });
    return rows.map(toStored);
  }

  /** Stores `key` unless an unretired key exists already; returns whether it did. */
  async insertIfNoneActive(key: NewSigningKey) {
    return this.db.client.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK})`;
      const active = await tx.oauthSigningKey.count({ where: { retiredAt: null } });
      if (active > 0) return false;
      await tx.oauthSigningKey.create({ data: toRow(key) });
      return true;
    });
  }

  /** Retires every unretired key and stores `key`, which becomes the signer. */
  async rotate(key: NewSigningKey): Promise<string[]> {
    return this.db.client.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${KEYS_LOCK})`;
      const retiring = await tx.oauthSigningKey.findMany({
        where: { retiredAt: null },
        select: { kid: true },
      });
      await tx.oauthSigningKey.updateMany({
        where: { retiredAt: null },
        data: { retiredAt: new Date() },
      });
      await tx.oauthSigningKey.create({ data: toRow(key) });
      return retiring.map((r) => r.kid);
    });
  }
}
