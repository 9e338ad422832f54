import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { isoSeconds, ListPage, OAuthClient } from '@cap/contracts';
import { Database, keysetPage, Prisma } from '@cap/db';

const CLIENT_FIELDS = {
  id: true,
  name: true,
  type: true,
  redirectUris: true,
  createdAt: true,
} as const;
type ClientRow = Prisma.OauthClientGetPayload<{ select: typeof CLIENT_FIELDS }>;

function toClient(row: ClientRow): OAuthClient {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    redirect_uris: row.redirectUris,
    created_at: isoSeconds(row.createdAt),
  };
}

/** What oidc-provider needs to know about a client, including the stored secret hash. */
export interface ClientRegistration extends OAuthClient {
  secret_hash: string | null;
  first_party: boolean;
}

@Injectable()
export class ClientsRepository {
  private readonly registrations = new LRUCache<string, ClientRegistration>({
    max: 10_000,
    ttl: 60_000,
  });

  constructor(private readonly db: Database) {}

  /**
   * Registers the client unless its owner already has `max` of them (`null` then). The owner's
   * row is locked for the count and the insert, so concurrent registrations cannot pass the cap
   * together.
   */
  async create(
    input: {
      id: string;
      ownerId: string;
      name: string;
      type: OAuthClient['type'];
      redirectUris: string[];
      secretHash: string | null;
      firstParty: boolean;
    },
    max: number,
  ): Promise<OAuthClient | null> {
    return this.db.client.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${input.ownerId} FOR UPDATE`;
      if ((await tx.oauthClient.count({ where: { ownerId: input.ownerId } })) >= max) return null;
      return toClient(await tx.oauthClient.create({ data: input, select: CLIENT_FIELDS }));
    });
  }

  /**
   * Clients registered by `ownerId`, newest first, after the cursor client. Returns `null` when
   * the cursor is not one of them.
   */
  async listForOwner(
    ownerId: string,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<OAuthClient> | null> {
    return keysetPage({
      limit,
      startingAfter,
      order: 'desc',
      findCursor: (id) =>
        this.db.client.oauthClient.findFirst({
          where: { ownerId, id },
          select: { id: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.oauthClient.findMany({
          where: { ownerId, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: CLIENT_FIELDS,
        }),
      map: toClient,
    });
  }

  /**
   * A client as oidc-provider needs it, on every token, authorization, introspection and
   * revocation request. Registrations never change once made (nothing updates or deletes
   * them), so found ones are kept in memory for a minute; an unknown id is not remembered, so
   * a client is usable the moment it is registered.
   */
  async findRegistration(id: string): Promise<ClientRegistration | null> {
    const cached = this.registrations.get(id);
    if (cached) return cached;
    const row = await this.db.client.oauthClient.findUnique({
      where: { id },
      select: { ...CLIENT_FIELDS, secretHash: true, firstParty: true },
    });
    if (!row) return null;
    const registration = {
      ...toClient(row),
      secret_hash: row.secretHash,
      first_party: row.firstParty,
    };
    this.registrations.set(id, registration);
    return registration;
  }
}
