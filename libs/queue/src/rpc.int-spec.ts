import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { runInThisContext } from 'node:vm';
import { Queue, QueueEvents } from 'bullmq';
import { DomainError } from '@cap/contracts';
// Test helpers only: libs/testing is not a runtime dependency of libs/queue.
import { cleanRedisPrefix, eventually, sleep, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { bullQueueName, createRedis } from './redis';
import { RpcClient } from './rpc-client';
import { RpcHandlers, RpcServer } from './rpc-server';

// Request/reply against the real Redis: a client and a server talking through BullMQ.

type ServedJobs = {
  echo: {
    req: { text: string; nested: { list: number[]; flag: boolean; none: null } };
    res: { received: ServedJobs['echo']['req']; served: string };
  };
  double: { req: { i: number }; res: { i: number; doubled: number } };
  'fail.domain': { req: { param?: string }; res: never };
  'fail.crash': { req: Record<string, never>; res: never };
};

/** The client also knows a job no server handles. */
type ClientJobs = ServedJobs & { 'nobody.handles.this': { req: { v: 1 }; res: unknown } };

type TestQueueJobs = { probe: { req: { n: number }; res: number } };

const redisUrl = TEST_ENV.redisUrl;
const prefix = testQueuePrefix();
const connection = { url: redisUrl, maxRetriesPerRequest: null };

const SECRET_DETAIL = 'password=hunter2 at db-internal.example:5432';

/** Everything to close in afterAll, in reverse order of creation. */
const closers: Array<() => Promise<unknown>> = [];
function track<T extends { close(): Promise<unknown> }>(thing: T): T {
  closers.push(() => thing.close());
  return thing;
}

/** Whether `check` holds within `timeoutMs`, polled every 10 ms. */
const holds = async (check: () => Promise<boolean> | boolean, timeoutMs = 2_000) =>
  (await eventually(check, timeoutMs, 10)).ok;

/** `promise`, or a clear failure when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error a promise rejected with (fails the test if it resolved). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

function expectDomainError(err: unknown, code: string): DomainError {
  expect(err).toBeInstanceOf(DomainError);
  const domain = err as DomainError;
  expect(domain.code).toBe(code);
  return domain;
}

async function totalJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(
    'wait',
    'active',
    'delayed',
    'prioritized',
    'waiting-children',
    'completed',
    'failed',
  );
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

const onUnexpectedError = jest.fn<void, [unknown, { name: string; id?: string }]>();
const echo = jest.fn(async (req: ServedJobs['echo']['req']) => ({
  received: req,
  served: 'by-server',
}));

let client: RpcClient<ClientJobs>;
let server: RpcServer<ServedJobs>;
let mainQueue: Queue;

beforeAll(async () => {
  server = track(
    new RpcServer<ServedJobs>(
      { queue: 'rpc-main', prefix, redisUrl, concurrency: 32, onUnexpectedError },
      {
        echo,
        double: async ({ i }) => {
          // Out-of-order completion, so replies cannot be matched by arrival order.
          await sleep(Math.floor(Math.random() * 15));
          return { i, doubled: i * 2 };
        },
        'fail.domain': async ({ param }) => {
          throw new DomainError('project_not_found', 'No such project.', { param });
        },
        'fail.crash': async () => {
          throw new Error(SECRET_DETAIL);
        },
      },
    ),
  );
  await server.start();
  client = track(
    new RpcClient<ClientJobs>({ queue: 'rpc-main', prefix, redisUrl, timeoutMs: 5000 }),
  );
  await client.ready();
  mainQueue = track(new Queue(bullQueueName('rpc-main'), { connection, prefix }));
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await cleanRedisPrefix(prefix);
});

beforeEach(() => {
  onUnexpectedError.mockClear();
  echo.mockClear();
});

describe('RpcClient and RpcServer over real Redis', () => {
  it('round-trips the payload to the handler and the result back to the caller', async () => {
    const payload = {
      text: 'héllo ✓ "quoted" \n',
      nested: { list: [1, 2.5, -3], flag: false, none: null },
    };

    const result = await client.call('echo', payload);

    expect(echo).toHaveBeenCalledTimes(1);
    expect(echo).toHaveBeenCalledWith(payload);
    expect(result).toEqual({ received: payload, served: 'by-server' });
    expect(client.inFlight).toBe(0);
    expect(onUnexpectedError).not.toHaveBeenCalled();
  });

  it('leaves no job behind once a call is answered', async () => {
    await client.call('double', { i: 21 });
    // The reply is pushed just before the job completes (and is removed).
    expect(await holds(async () => (await totalJobs(mainQueue)) === 0)).toBe(true);
  });

  it('replies to each caller on its own stream: two clients on one queue get their own answers', async () => {
    const other = track(
      new RpcClient<ClientJobs>({ queue: 'rpc-main', prefix, redisUrl, timeoutMs: 5000 }),
    );
    await other.ready();
    const [mine, theirs] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, (_, i) => client.call('double', { i }))),
      Promise.all(Array.from({ length: 50 }, (_, i) => other.call('double', { i: 1000 + i }))),
    ]);
    expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, doubled: i * 2 })));
    expect(theirs).toEqual(
      Array.from({ length: 50 }, (_, i) => ({ i: 1000 + i, doubled: (1000 + i) * 2 })),
    );
    // Each stream is trimmed to the last reply handled, and only the clients' own were written.
    const redis = createRedis(redisUrl);
    try {
      const keys = await redis.keys(`${prefix}:rpc-replies:*`);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      expect(
        await holds(async () => {
          const lengths = await Promise.all(keys.map((k) => redis.xlen(k)));
          return lengths.every((n) => n <= 1);
        }),
      ).toBe(true);
    } finally {
      redis.disconnect();
    }
  });

  it('delivers a reply across a reconnect of the reader', async () => {
    const queueName = 'rpc-reconnect';
    const slow = track(
      new RpcServer<TestQueueJobs>(
        { queue: queueName, prefix, redisUrl },
        {
          probe: async ({ n }) => {
            await sleep(300);
            return n * 10;
          },
        },
      ),
    );
    await slow.start();
    const caller = track(
      new RpcClient<TestQueueJobs>({ queue: queueName, prefix, redisUrl, timeoutMs: 5000 }),
    );
    await caller.ready();
    const answer = caller.call('probe', { n: 4 });
    await sleep(100);
    // Drop every reply reader's connection while the reply is being made.
    const admin = createRedis(redisUrl);
    try {
      const list = (await admin.client('LIST')) as string;
      const readers = list
        .split('\n')
        .filter((line) => / name=rpc-replies-/.test(line))
        .map((line) => /\bid=(\d+)/.exec(line)![1]);
      expect(readers.length).toBeGreaterThan(0);
      for (const id of readers) await admin.client('KILL', 'ID', id);
    } finally {
      admin.disconnect();
    }
    expect(await within(answer, 4000, 'the reply after the reconnect')).toBe(40);
  });

  it('drops a reply connection that went silent (half-open) and reads on after reconnecting', async () => {
    // A proxy that can stop forwarding on its open connections without closing them, as after
    // a network partition; connections made later pass.
    const target = new URL(redisUrl);
    const frozen = new Set<Socket>();
    const open = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      open.add(client);
      client.on('data', (d: Buffer) => frozen.has(client) || upstream.write(d));
      upstream.on('data', (d: Buffer) => frozen.has(client) || client.write(d));
      const end = () => {
        open.delete(client);
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) s.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise((r) => {
          for (const s of open) s.destroy();
          proxy.close(r);
        }),
    );
    const queueName = 'rpc-half-open';
    const probe = async ({ n }: { n: number }) => {
      await sleep(200);
      return n + 1;
    };
    const server = track(
      new RpcServer<TestQueueJobs>({ queue: queueName, prefix, redisUrl }, { probe }),
    );
    await server.start();
    const { port } = proxy.address() as AddressInfo;
    const caller = track(
      new RpcClient<TestQueueJobs>({
        queue: queueName,
        prefix,
        redisUrl: `redis://127.0.0.1:${port}`,
        timeoutMs: 15_000,
      }),
    );
    await caller.ready();
    const answer = caller.call('probe', { n: 41 });
    await sleep(50); // the job is queued
    for (const s of open) frozen.add(s);
    // The reply is made while the reader hears nothing; its socket times out, it reconnects
    // and reads the reply it missed.
    expect(await within(answer, 12_000, 'the reply after the silent connection')).toBe(42);
  });

  it('keeps the queue events free of replies, and still answers a caller that names no stream', async () => {
    const events = track(new QueueEvents(bullQueueName('rpc-main'), { connection, prefix }));
    await events.waitUntilReady();
    const completed = new Map<string, unknown>();
    events.on('completed', ({ jobId, returnvalue }) => completed.set(jobId, returnvalue));

    await client.call('double', { i: 7 });
    // A job id that is a bare UUID, as callers sent before reply streams: the reply is the
    // job's return value.
    const legacy = await mainQueue.add(
      'double',
      { i: 8 },
      { jobId: randomUUID(), removeOnComplete: true },
    );
    expect(await holds(() => completed.size === 2)).toBe(true);
    expect(completed.get(legacy.id!)).toEqual({ ok: true, data: { i: 8, doubled: 16 } });
    const [ours] = [...completed].filter(([id]) => id !== legacy.id);
    expect(ours[1]).toBeNull();
  });

  it('gives the caller the DomainError thrown: same code, message and param', async () => {
    const err = expectDomainError(
      await rejectionOf(client.call('fail.domain', { param: 'project_id' })),
      'project_not_found',
    );
    expect(err.message).toBe('No such project.');
    expect(err.param).toBe('project_id');
    expect(err.status).toBe(404);
    expect(onUnexpectedError).not.toHaveBeenCalled();
  });

  it('keeps param undefined when the DomainError had none', async () => {
    const err = expectDomainError(
      await rejectionOf(client.call('fail.domain', {})),
      'project_not_found',
    );
    expect(err.param).toBeUndefined();
  });

  it('turns a plain Error into internal_error without leaking it, and reports it', async () => {
    const err = expectDomainError(
      await rejectionOf(client.call('fail.crash', {})),
      'internal_error',
    );

    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toContain(SECRET_DETAIL);
    expect(JSON.stringify(err.toShape())).not.toContain('hunter2');
    expect(onUnexpectedError).toHaveBeenCalledTimes(1);
    const [reported, job] = onUnexpectedError.mock.calls[0];
    expect(reported).toBeInstanceOf(Error);
    expect((reported as Error).message).toBe(SECRET_DETAIL);
    expect(job.name).toBe('fail.crash');
    expect(typeof job.id).toBe('string');
  });

  it('answers internal_error for a job name the server has no handler for', async () => {
    const err = expectDomainError(
      await rejectionOf(client.call('nobody.handles.this', { v: 1 })),
      'internal_error',
    );
    expect(err.message).toMatch(/unknown job/i);
    expect(client.inFlight).toBe(0);
  });

  it('resolves 200 concurrent calls each with its own result and no listener leak', async () => {
    // Node emits warnings on the real process, not on the copy Jest gives each test file.
    const realProcess = runInThisContext('process') as NodeJS.Process;
    const printers = realProcess.listeners('warning');
    realProcess.removeAllListeners('warning'); // collected below instead of printed
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    realProcess.on('warning', onWarning);
    try {
      // The detector itself works: a real leak is seen.
      class DetectorSelfCheck extends EventEmitter {}
      const leaky = new DetectorSelfCheck();
      for (let n = 0; n <= leaky.getMaxListeners(); n++) leaky.on('x', () => undefined);
      expect(await holds(() => warnings.length > 0)).toBe(true);
      expect(warnings.map((w) => w.name)).toEqual(['MaxListenersExceededWarning']);
      warnings.length = 0;

      const n = 200;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => client.call('double', { i })),
      );

      expect(results).toEqual(Array.from({ length: n }, (_, i) => ({ i, doubled: i * 2 })));
      expect(client.inFlight).toBe(0);
      await sleep(50); // warnings are emitted on a later tick
      const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
      expect(leaks.map((w) => w.message)).toEqual([]);
      expect(await totalJobs(mainQueue)).toBe(0);
    } finally {
      realProcess.off('warning', onWarning);
      for (const printer of printers) realProcess.on('warning', printer);
    }
  });

  it('answers internal_error at once when BullMQ fails a job outside the handler', async () => {
    const queueName = 'rpc-failing';
    // A handler table that throws when looked up: the job fails in BullMQ, not in a handler,
    // as when BullMQ gives up on a job that stalled too often.
    const broken = new Proxy({} as RpcHandlers<TestQueueJobs>, {
      get: () => {
        throw new Error('handler table unavailable');
      },
    });
    const failing = track(
      new RpcServer<TestQueueJobs>({ queue: queueName, prefix, redisUrl }, broken),
    );
    await failing.start();
    const caller = track(
      new RpcClient<TestQueueJobs>({ queue: queueName, prefix, redisUrl, timeoutMs: 5000 }),
    );
    await caller.ready();
    const started = performance.now();
    const err = expectDomainError(
      await within(rejectionOf(caller.call('probe', { n: 1 })), 3000, 'the failure'),
      'internal_error',
    );
    expect(err.message).not.toContain('handler table');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(caller.inFlight).toBe(0);
  });

  it('times out with upstream_timeout when no server answers, and removes the job', async () => {
    const queueName = 'rpc-unserved';
    const events = track(new QueueEvents(bullQueueName(queueName), { connection, prefix }));
    await events.waitUntilReady();
    const added: string[] = [];
    const removed: string[] = [];
    events.on('added', ({ jobId }) => added.push(jobId));
    events.on('removed', ({ jobId }) => removed.push(jobId));
    const queue = track(new Queue(bullQueueName(queueName), { connection, prefix }));
    const lonely = track(
      new RpcClient<TestQueueJobs>({ queue: queueName, prefix, redisUrl, timeoutMs: 5000 }),
    );
    await lonely.ready();

    const started = performance.now();
    const call = lonely.call('probe', { n: 1 }, { timeoutMs: 300 });
    const outcome = await within(rejectionOf(call), 3000, 'the deadline');
    const err = expectDomainError(outcome, 'upstream_timeout');
    const elapsed = performance.now() - started;

    expect(err.status).toBe(503);
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1300);
    expect(lonely.inFlight).toBe(0);
    // The job was queued, then taken back out of the queue.
    expect(await holds(() => added.length === 1 && removed.length === 1)).toBe(true);
    expect(removed).toEqual(added);
    expect(await totalJobs(queue)).toBe(0);

    // A server that starts afterwards must not run the abandoned job.
    const probe = jest.fn(async ({ n }: { n: number }) => n);
    const late = track(
      new RpcServer<TestQueueJobs>({ queue: queueName, prefix, redisUrl }, { probe }),
    );
    await late.start();
    await sleep(1000);
    expect(probe).not.toHaveBeenCalled();
  });

  it('uses the client-wide timeoutMs when a call gives none', async () => {
    const quick = track(
      new RpcClient<TestQueueJobs>({ queue: 'rpc-quick', prefix, redisUrl, timeoutMs: 300 }),
    );
    await quick.ready();
    const started = performance.now();
    const outcome = await within(rejectionOf(quick.call('probe', { n: 1 })), 3000, 'the deadline');
    expectDomainError(outcome, 'upstream_timeout');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(295);
    expect(elapsed).toBeLessThan(1300);
  });

  it('rejects the calls still pending when it is closed', async () => {
    const queueName = 'rpc-closing';
    const queue = track(new Queue(bullQueueName(queueName), { connection, prefix }));
    const closing = new RpcClient<TestQueueJobs>({
      queue: queueName,
      prefix,
      redisUrl,
      timeoutMs: 30_000,
    });
    closers.push(() => closing.close());
    await closing.ready();

    const calls = [closing.call('probe', { n: 1 }), closing.call('probe', { n: 2 })];
    const outcomes = calls.map((call) => rejectionOf(call));
    // Both jobs are queued and nobody serves them: the calls are really pending.
    expect(await holds(async () => (await queue.getWaitingCount()) === 2)).toBe(true);
    expect(closing.inFlight).toBe(2);

    await closing.close();
    const errors = await within(Promise.all(outcomes), 2000, 'the pending calls to reject');
    for (const err of errors) expectDomainError(err, 'service_unavailable');
    expect(closing.inFlight).toBe(0);
  });

  it('keeps its deadline when Redis does not answer, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // Nothing listens on port 1: adds stall in ioredis's offline queue.
    const stranded = new RpcClient<TestQueueJobs>({
      queue: 'rpc-stranded',
      prefix,
      redisUrl: 'redis://127.0.0.1:1',
      timeoutMs: 300,
    });
    try {
      const started = performance.now();
      const outcome = await rejectionOf(stranded.call('probe', { n: 1 }));
      expectDomainError(outcome, 'upstream_timeout');
      expect(performance.now() - started).toBeLessThan(1300);
      const pending = rejectionOf(stranded.call('probe', { n: 2 }));
      await stranded.close();
      expectDomainError(await pending, 'service_unavailable');
      await sleep(200);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
