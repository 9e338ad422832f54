import { Injectable } from '@nestjs/common';
import { ListPage, Region } from '@cap/contracts';
import { Upstream } from '../upstream/upstream';

const TTL_MS = 60_000;

/** The catalogue as a list page, serialized once per refresh rather than once per request. */
export interface RegionCatalogue {
  page: ListPage<Region>;
  json: string;
}

/** The region catalogue, held in memory: it changes with deployments, not with requests. */
@Injectable()
export class RegionsService {
  private cached?: RegionCatalogue & { until: number };
  private loading?: Promise<RegionCatalogue>;

  constructor(private readonly upstream: Upstream) {}

  async catalogue(): Promise<RegionCatalogue> {
    if (this.cached && this.cached.until > Date.now()) return this.cached;
    this.loading ??= this.upstream.projects
      .call('regions.list', { v: 1 })
      .then((regions) => {
        const page: ListPage<Region> = { data: regions, has_more: false };
        this.cached = { page, json: JSON.stringify(page), until: Date.now() + TTL_MS };
        return this.cached;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}
