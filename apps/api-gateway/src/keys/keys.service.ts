import { Injectable } from '@nestjs/common';
import { actorOf, newApiKey, Principal } from '@cap/auth';
import {
  ApiKey,
  ApiKeyWithSecret,
  CreateKeyBody,
  ListKeysQuery,
  ListPage,
  RotateKeyBody,
} from '@cap/contracts';
import { BearerPrincipalResolver } from '../data-plane/principal-resolver';
import { Upstream } from '../upstream/upstream';

@Injectable()
export class KeysService {
  constructor(
    private readonly upstream: Upstream,
    private readonly resolver: BearerPrincipalResolver,
  ) {}

  /**
   * The secret is made here and only its hash goes on the queue: it exists in clear only in
   * this response.
   */
  async create(principal: Principal, body: CreateKeyBody): Promise<ApiKeyWithSecret> {
    const { secret, ...stored } = newApiKey();
    const key = await this.upstream.projects.call('keys.create', {
      v: 1,
      actor: actorOf(principal),
      ...body,
      ...stored,
    });
    return { ...key, secret };
  }

  list(principal: Principal, query: ListKeysQuery): Promise<ListPage<ApiKey>> {
    return this.upstream.projects.call('keys.list', { v: 1, actor: actorOf(principal), ...query });
  }

  async revoke(principal: Principal, keyId: string): Promise<ApiKey> {
    const key = await this.upstream.projects.call('keys.revoke', {
      v: 1,
      actor: actorOf(principal),
      key_id: keyId,
    });
    this.resolver.evict(key.id);
    return key;
  }

  /** A new secret, made here like at creation; the previous one lives for the grace period. */
  async rotate(
    principal: Principal,
    keyId: string,
    body: RotateKeyBody,
  ): Promise<ApiKeyWithSecret> {
    const { secret, ...stored } = newApiKey();
    const key = await this.upstream.projects.call('keys.rotate', {
      v: 1,
      actor: actorOf(principal),
      key_id: keyId,
      ...stored,
      grace_period_seconds: body.grace_period_seconds,
    });
    this.resolver.evict(key.id);
    return { ...key, secret };
  }
}
