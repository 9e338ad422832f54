import { Injectable } from '@nestjs/common';
import { Region } from '@cap/contracts';
import { Database } from '@cap/db';

@Injectable()
export class RegionsRepository {
  constructor(private readonly db: Database) {}

  async listAvailable(): Promise<Region[]> {
    const rows = await this.db.client.region.findMany({
      where: { available: true },
      orderBy: { id: 'asc' },
      select: { id: true, name: true },
    });
    return rows.map((r) => ({ id: r.id, name: r.name }));
  }

  async isAvailable(id: string): Promise<boolean> {
    const row = await this.db.client.region.findFirst({ where: { id, available: true } });
    return row !== null;
  }
}
