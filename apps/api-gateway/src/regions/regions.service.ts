import { Injectable } from '@nestjs/common';
import { Region } from '@cap/contracts';
import { Upstream } from '../upstream/upstream';

const TTL_MS = 60_000;

/** The region catalogue, held in memory: it changes with deployments, not with requests. */
@Injectable()
export class RegionsService {
  private cached?: { regions: Region[]; until: number };
  private loading?: Promise<Region[]>;

  constructor(private readonly upstream: Upstream) {}

  async list(): Promise<Region[]> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.regions;
    this.loading ??= this.upstream.projects
      .call('regions.list', { v: 1 })
      .then((regions) => {
        this.cached = { regions, until: Date.now() + TTL_MS };
        return regions;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}
