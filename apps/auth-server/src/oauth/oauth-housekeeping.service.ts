import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../config';
import { GrantsRepository } from './grants.repository';

const EVERY_MS = 15 * 60 * 1000;

/** Deletes expired grants and refresh tokens now and then (Redis expires its own artifacts). */
@Injectable()
export class OAuthHousekeeping implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly grants: GrantsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.grants.deleteExpired().then(
        (deleted) => deleted && this.logger.info({ deleted }, 'expired grants and tokens deleted'),
        (err: unknown) => this.logger.warn({ err }, 'could not delete expired grants'),
      );
    }, EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
