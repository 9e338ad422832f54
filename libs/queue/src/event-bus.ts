import type { Redis } from 'ioredis';
import { createRedis } from './redis';

/**
 * Redis pub/sub with the queue prefix, for events every replica must see at once (cache
 * invalidation). Delivery is at most once: subscribers also bound their caches by TTL.
 */
export class EventBus {
  /** Opened on first publish: most users only subscribe. */
  private publisher?: Redis;
  private subscriber?: Redis;
  private readonly handlers = new Map<string, Array<(payload: unknown) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private connectedOnce = false;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
  ) {}

  private channel(name: string): string {
    return `${this.prefix}:${name}`;
  }

  async publish(name: string, payload: unknown): Promise<void> {
    this.publisher ??= createRedis(this.redisUrl, { maxRetriesPerRequest: 1 });
    await this.publisher.publish(this.channel(name), JSON.stringify(payload));
  }

  /** Subscribes `handler` to `name`; resolves once Redis confirmed the subscription. */
  async subscribe(name: string, handler: (payload: unknown) => void): Promise<void> {
    if (!this.subscriber) {
      this.subscriber = createRedis(this.redisUrl);
      this.subscriber.on('ready', () => {
        if (this.connectedOnce) for (const h of this.reconnectHandlers) h();
        this.connectedOnce = true;
      });
      this.subscriber.on('message', (channel: string, message: string) => {
        let payload: unknown;
        try {
          payload = JSON.parse(message);
        } catch {
          return;
        }
        for (const h of this.handlers.get(channel) ?? []) h(payload);
      });
    }
    const channel = this.channel(name);
    const list = this.handlers.get(channel) ?? [];
    list.push(handler);
    this.handlers.set(channel, list);
    await this.subscriber.subscribe(channel);
  }

  /** Called each time the subscription comes back after a disconnect (events may be lost). */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
