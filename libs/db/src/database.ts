import { Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { createPrismaClient, DbOptions, PrismaClient } from './prisma';

/** An app's one Prisma client, for its repositories; disconnected when the app stops. */
@Injectable()
export class Database implements OnApplicationShutdown {
  constructor(readonly client: PrismaClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.client.$disconnect();
  }
}

export function databaseProvider(options: DbOptions): Provider {
  return { provide: Database, useFactory: () => new Database(createPrismaClient(options)) };
}
