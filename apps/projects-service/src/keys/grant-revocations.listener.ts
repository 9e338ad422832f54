import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { CHANNELS, TokenRevokedEvent } from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { LOGGER } from '../tokens';
import { KeysService } from './keys.service';

/**
 * Keys made with an OAuth access token die with its grant. auth-server announces revoked grants
 * on `CHANNELS.tokenRevoked`; their keys are revoked here and announced to the gateways, within
 * the second like any revocation. Pub/sub is at most once, so on start and after every
 * reconnect the keys whose grant is gone are swept up as well (until then `findUsableByHash`
 * already refuses them: the join on `oauth_grants` is the durable truth).
 */
@Injectable()
export class GrantRevocationsListener implements OnApplicationBootstrap {
  constructor(
    private readonly events: EventBus,
    private readonly keys: KeysService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.events.subscribe(CHANNELS.tokenRevoked, (payload) => {
      const event = payload as Partial<TokenRevokedEvent>;
      if (!Array.isArray(event.grant_ids)) return;
      const grantIds = event.grant_ids.filter((g): g is string => typeof g === 'string');
      this.run(this.keys.revokeForGrants(grantIds));
    });
    this.events.onReconnect(() => this.run(this.keys.revokeOrphaned()));
    this.run(this.keys.revokeOrphaned());
  }

  private run(work: Promise<string[]>): void {
    work.then(
      (ids) => {
        if (ids.length)
          this.logger.info({ keys: ids.length }, 'revoked keys of ended OAuth grants');
      },
      (err: unknown) =>
        this.logger.error({ err }, 'could not revoke the keys of ended OAuth grants'),
    );
  }
}
