import { Redis } from 'ioredis';
import { createRedis, RedisClient, RedisTarget } from './redis';

/**
 * Redis pub/sub with the queue prefix, for events every replica must see at once (cache
 * invalidation). Delivery is at most once: subscribers also bound their caches by TTL.
 */
export class EventBus {
  /** Opened on first publish: most users only subscribe. */
  private publisher?: RedisClient;
  private subscriber?: Redis;
  private readonly handlers = new Map<string, Array<(payload: unknown) => void>>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private connectedOnce = false;

  constructor(
    /** Where Redis is (a URL, or a target from `redisTarget`). */
    private readonly target: RedisTarget,
    private readonly prefix: string,
  ) {}

  /**
   * The subscriber's connection. On a Cluster, a PUBLISH reaches every node, so it subscribes
   * on one node, and on the next when that one goes away (each reconnect tries the next of
   * REDIS_CLUSTER_NODES): a plain connection, so that `ready` means what it means elsewhere.
   */
  private openSubscriber(): Redis {
    const target = this.target;
    if (typeof target === 'string' || target.mode !== 'cluster') {
      return createRedis(target, { autoResubscribe: false }) as Redis;
    }
    const nodes = target.nodes;
    let at = Math.floor(Math.random() * nodes.length);
    const subscriber: Redis = new Redis({
      ...nodes[at],
      username: target.username,
      password: target.password,
      ...(target.tls ? { tls: {} } : {}),
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      retryStrategy: (times) => {
        // ioredis connects with the options object it was given: the next node, then.
        at = (at + 1) % nodes.length;
        Object.assign(subscriber.options, nodes[at]);
        return Math.min(times * 50, 1000);
      },
    });
    subscriber.on('error', () => undefined);
    return subscriber;
  }

  private channel(name: string): string {
    return `${this.prefix}:${name}`;
  }

  async publish(name: string, payload: unknown): Promise<void> {
    this.publisher ??= createRedis(this.target, { maxRetriesPerRequest: 1 });
    await this.publisher.publish(this.channel(name), JSON.stringify(payload));
  }

  /** Subscribes `handler` to `name`; resolves once Redis confirmed the subscription. */
  async subscribe(name: string, handler: (payload: unknown) => void): Promise<void> {
    if (!this.subscriber) {
      // ioredis would resubscribe by itself, but says `ready` before it even sends SUBSCRIBE:
      // a reconnect handler that cleared caches then would miss the events of that gap.
      const subscriber = this.openSubscriber();
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
