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
      // ioredis would resubscribe by itself, but says `ready` before it even sends SUBSCRIBE:
      // a reconnect handler that cleared caches then would miss the events of that gap.
      const subscriber = createRedis(this.redisUrl, { autoResubscribe: false });
      this.subscriber = subscriber;
      subscriber.on('ready', () => {
        if (!this.connectedOnce) {
          this.connectedOnce = true;
          return;
        }
        this.resubscribe(subscriber);
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

  /**
   * Subscribes again to every channel after a reconnect, then tells the reconnect handlers: by
   * then every event published from now on is delivered, so what they forget is not re-learnt
   * stale. A connection that drops again before the answer retries on its next `ready`.
   */
  private resubscribe(subscriber: Redis): void {
    const channels = [...this.handlers.keys()];
    const subscribed = channels.length ? subscriber.subscribe(...channels) : Promise.resolve();
    subscribed.then(
      () => {
        for (const h of this.reconnectHandlers) h();
      },
      () => undefined,
    );
  }

  /**
   * Called each time the subscription comes back after a disconnect (events may have been lost),
   * once Redis has acknowledged the SUBSCRIBE again.
   */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
