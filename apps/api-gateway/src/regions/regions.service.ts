import { Injectable } from '@nestjs/common';
import { ListPage, Region } from '@cap/contracts';
import { Upstream } from '../upstream/upstream';

const TTL_MS = 60_000;

/** The region catalogue, held in memory: it changes with deployments, not with requests. */
@Injectable()
export class RegionsService {
  private cached?: { json: string; until: number };
  private loading?: Promise<string>;

  constructor(private readonly upstream: Upstream) {}

  /** The catalogue as a list page in JSON, serialized once per refresh, not once per request. */
  async catalogueJson(): Promise<string> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.json;
    this.loading ??= this.upstream.projects
      .call('regions.list', { v: 1 })
      .then((regions) => {
        const page: ListPage<Region> = { data: regions, has_more: false };
        this.cached = { json: JSON.stringify(page), until: Date.now() + TTL_MS };
        return this.cached.json;
      })
      .finally(() => (this.loading = undefined));
    return this.loading;
  }
}
