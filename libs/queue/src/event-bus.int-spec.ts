import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import { Redis } from 'ioredis';
// Test helpers only: libs/testing is not a runtime dependency of libs/queue.
import { eventually, sleep, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { EventBus } from './event-bus';

// Pub/sub through the real Redis: every EventBus with the same prefix sees the events.

const redisUrl = TEST_ENV.redisUrl;
const prefix = testQueuePrefix();
const otherPrefix = testQueuePrefix();
const CHANNEL = 'events:test-happened';

/** Whether `check` holds within `timeoutMs`, polled every 10 ms. */
const holds = async (check: () => Promise<boolean> | boolean, timeoutMs = 2_000) =>
  (await eventually(check, timeoutMs, 10)).ok;

const buses: EventBus[] = [];
function bus(busPrefix: string, url = redisUrl): EventBus {
  const created = new EventBus(url, busPrefix);
  buses.push(created);
  return created;
}

let raw: Redis;

beforeAll(() => {
  raw = new Redis(redisUrl);
});

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  raw.disconnect();
});

describe('EventBus over real Redis', () => {
  it('delivers to subscribers with the same prefix only, on other instances', async () => {
    const subscriber = bus(prefix);
    const secondSubscriber = bus(prefix);
    const stranger = bus(otherPrefix);
    const publisher = bus(prefix);
    const strangerPublisher = bus(otherPrefix);
    const got: unknown[] = [];
    const gotToo: unknown[] = [];
    const strangerGot: unknown[] = [];
    await subscriber.subscribe(CHANNEL, (p) => got.push(p));
    await secondSubscriber.subscribe(CHANNEL, (p) => gotToo.push(p));
    await stranger.subscribe(CHANNEL, (p) => strangerGot.push(p));

    const event = { v: 1, key_ids: ['key_a', 'key_b'], note: 'ünïcode ✓', nested: { n: null } };
    await publisher.publish(CHANNEL, event);

    expect(await holds(() => got.length === 1 && gotToo.length === 1)).toBe(true);
    expect(got).toEqual([event]);
    expect(gotToo).toEqual([event]);

    // A marker published afterwards on the other prefix reaches the stranger: by then the first
    // event would have reached it too (Redis delivers in publish order), had it been routed.
    await strangerPublisher.publish(CHANNEL, { marker: true });
    expect(await holds(() => strangerGot.length > 0)).toBe(true);
    expect(strangerGot).toEqual([{ marker: true }]);
    await sleep(50);
    expect(got).toEqual([event]);
  });

  it('publishes on the prefixed channel, so plain Redis subscribers see the JSON', async () => {
    const listener = new Redis(redisUrl);
    try {
      const messages: Array<[string, string]> = [];
      listener.on('message', (channel: string, message: string) =>
        messages.push([channel, message]),
      );
      await listener.subscribe(`${prefix}:${CHANNEL}`);

      await bus(prefix).publish(CHANNEL, { v: 1, key_ids: ['key_c'] });

      expect(await holds(() => messages.length === 1)).toBe(true);
      expect(messages[0][0]).toBe(`${prefix}:${CHANNEL}`);
      expect(JSON.parse(messages[0][1])).toEqual({ v: 1, key_ids: ['key_c'] });
    } finally {
      listener.disconnect();
    }
  });

  it('delivers only the channel a handler subscribed to', async () => {
    const subscriber = bus(prefix);
    const first: unknown[] = [];
    const second: unknown[] = [];
    await subscriber.subscribe('events:first', (p) => first.push(p));
    await subscriber.subscribe('events:second', (p) => second.push(p));

    const publisher = bus(prefix);
    await publisher.publish('events:second', { which: 'second' });
    await publisher.publish('events:first', { which: 'first' });

    expect(await holds(() => first.length === 1 && second.length === 1)).toBe(true);
    expect(first).toEqual([{ which: 'first' }]);
    expect(second).toEqual([{ which: 'second' }]);
  });

  it('ignores malformed messages without throwing and keeps delivering', async () => {
    const subscriber = bus(prefix);
    const handler = jest.fn<void, [unknown]>();
    await subscriber.subscribe(CHANNEL, handler);

    const channel = `${prefix}:${CHANNEL}`;
    for (const junk of ['not json at all', '{"v":1,', '', '\u0000\u00ff', '{unquoted: 1}']) {
      expect(await raw.publish(channel, junk)).toBeGreaterThanOrEqual(1);
    }
    await raw.publish(channel, JSON.stringify({ v: 1, key_ids: ['key_after_junk'] }));

    expect(await holds(() => handler.mock.calls.length > 0)).toBe(true);
    await sleep(50);
    expect(handler.mock.calls).toEqual([[{ v: 1, key_ids: ['key_after_junk'] }]]);
  });

  it('calls onReconnect when the subscription comes back, and delivers again', async () => {
    const subscriber = bus(prefix);
    const got: unknown[] = [];
    const reconnected = jest.fn();
    subscriber.onReconnect(reconnected);
    await subscriber.subscribe(CHANNEL, (p) => got.push(p));

    // Drop the subscriber's connection from the server side, as a Redis restart would.
    expect(await raw.client('KILL', 'ADDR', subscriberAddress(subscriber))).toBe(1);

    expect(await holds(() => reconnected.mock.calls.length === 1, 10_000)).toBe(true);
    // Subscribed again (ioredis resubscribes): events flow once more.
    const publisher = bus(prefix);
    const delivered = await holds(() => {
      void publisher.publish(CHANNEL, { after: 'reconnect' });
      return got.length > 0;
    }, 10_000);
    expect(delivered).toBe(true);
    expect(got[0]).toEqual({ after: 'reconnect' });
    expect(reconnected).toHaveBeenCalledTimes(1);
  });
});

describe('security: onReconnect after the subscription is back', () => {
  let proxy: SlowSubscribeProxy;
  beforeAll(async () => {
    proxy = await SlowSubscribeProxy.start(new URL(redisUrl));
  });
  afterAll(() => proxy.close());

  it('fires only once Redis acknowledged the SUBSCRIBE again, so no event of the gap is lost', async () => {
    // Through a proxy that holds each SUBSCRIBE back for 300 ms: the window between the
    // connection being usable again and the subscription being back, made wide.
    const subscriber = bus(prefix, proxy.url);
    const got: unknown[] = [];
    // What PUBLISH answered for an event sent from inside the handler: its receivers.
    const receivers: Array<Promise<number>> = [];
    subscriber.onReconnect(() => {
      // A cache is cleared here: an event published right after must still arrive.
      receivers.push(raw.publish(`${prefix}:events:gap`, JSON.stringify({ marker: 'gap' })));
    });
    // A channel of its own: the buses of earlier tests listen on CHANNEL.
    await subscriber.subscribe('events:gap', (p) => got.push(p));

    expect(await raw.client('KILL', 'ADDR', proxy.upstreamAddress())).toBe(1);

    expect(await holds(() => receivers.length === 1, 10_000)).toBe(true);
    expect(await receivers[0]).toBe(1);
    expect(await holds(() => got.length === 1)).toBe(true);
    expect(got).toEqual([{ marker: 'gap' }]);
    await subscriber.close();
  });

  it('resubscribes every channel before telling the handlers', async () => {
    const subscriber = bus(prefix, proxy.url);
    const first: unknown[] = [];
    const second: unknown[] = [];
    const listening: Array<Promise<unknown>> = [];
    subscriber.onReconnect(() => {
      listening.push(raw.pubsub('NUMSUB', `${prefix}:events:one`, `${prefix}:events:two`));
    });
    await subscriber.subscribe('events:one', (p) => first.push(p));
    await subscriber.subscribe('events:two', (p) => second.push(p));

    expect(await raw.client('KILL', 'ADDR', proxy.upstreamAddress())).toBe(1);

    expect(await holds(() => listening.length === 1, 10_000)).toBe(true);
    expect(await listening[0]).toEqual([`${prefix}:events:one`, 1, `${prefix}:events:two`, 1]);
    const publisher = bus(prefix);
    await publisher.publish('events:one', { n: 1 });
    await publisher.publish('events:two', { n: 2 });
    expect(await holds(() => first.length === 1 && second.length === 1)).toBe(true);
    await subscriber.close();
  });
});

/**
 * A TCP proxy to the real Redis that forwards everything, but holds back for 300 ms what a
 * client sends from its first SUBSCRIBE on (in order), as a slow network would.
 */
class SlowSubscribeProxy {
  private constructor(
    private readonly server: Server,
    private readonly upstreams: Set<Socket>,
    readonly url: string,
  ) {}

  static async start(target: URL): Promise<SlowSubscribeProxy> {
    const upstreams = new Set<Socket>();
    const server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      upstreams.add(upstream);
      let held = false;
      let queue = Promise.resolve();
      client.on('data', (chunk) => {
        held ||= /SUBSCRIBE/i.test(chunk.toString('latin1'));
        if (!held) return void upstream.write(chunk);
        queue = queue.then(() => sleep(300)).then(() => void upstream.write(chunk));
      });
      upstream.on('data', (chunk) => client.write(chunk));
      const drop = () => {
        upstreams.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', drop).on('error', drop);
      upstream.on('close', drop).on('error', drop);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    return new SlowSubscribeProxy(server, upstreams, `redis://127.0.0.1:${port}`);
  }

  /** The address Redis sees for the one connection open through the proxy. */
  upstreamAddress(): string {
    const open = [...this.upstreams];
    if (open.length !== 1) throw new Error(`${open.length} connections through the proxy`);
    return `${open[0].localAddress}:${open[0].localPort}`;
  }

  close(): void {
    for (const upstream of this.upstreams) upstream.destroy();
    this.server.close();
  }
}

/**
 * The address Redis sees for a bus's subscriber connection. The connection is private, so this
 * reads the field; a rename shows up here, clearly, rather than as a silent pass.
 */
function subscriberAddress(eventBus: EventBus): string {
  const connection = (eventBus as unknown as { subscriber?: Redis }).subscriber;
  if (!(connection instanceof Redis)) throw new Error('EventBus has no `subscriber` connection');
  const { localAddress, localPort } = connection.stream;
  if (!localAddress || !localPort) throw new Error('the subscriber is not connected');
  return `${localAddress}:${localPort}`;
}
