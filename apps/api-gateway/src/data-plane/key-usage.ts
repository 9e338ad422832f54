import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { CONFIG, GatewayConfig, LOGGER } from '../config';
import { Upstream } from '../upstream/upstream';

/**
 * When each API key was last used, collected in memory and sent to projects-service in one
 * job every `KEY_TOUCH_FLUSH_MS`: `last_used_at` costs nothing per request.
 */
@Injectable()
export class KeyUsage implements BeforeApplicationShutdown {
  private used = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    @Inject(CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly upstream: Upstream,
  ) {
    this.timer = setInterval(() => void this.flush(), config.KEY_TOUCH_FLUSH_MS);
    this.timer.unref();
  }

  touch(keyId: string): void {
    this.used.set(keyId, Date.now());
  }

  async flush(): Promise<void> {
    if (this.used.size === 0) return;
    const batch = this.used;
    this.used = new Map();
    try {
      await this.upstream.projects.call('keys.touch', {
        v: 1,
        used: [...batch].map(([key_id, at]) => ({ key_id, at: new Date(at).toISOString() })),
      });
    } catch (err) {
      // Keep them for the next round, without overwriting newer uses.
      for (const [id, at] of batch) if (!this.used.has(id)) this.used.set(id, at);
      this.logger.warn({ err }, 'key last-used times not sent; will retry');
    }
  }

  /** Before the queue clients close (a lost last-used time is harmless, a hang is not). */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
