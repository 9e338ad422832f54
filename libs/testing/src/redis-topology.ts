import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * Redis Cluster and Sentinel set-ups made of this machine's `redis-server`, for the tests of the
 * platform on Redis beyond one node: every process on loopback, on ports picked here (never
 * 6379, never 8080–8084), each node in a temporary directory of its own; `stop()` kills them all
 * and removes the directories.
 */

const HOST = '127.0.0.1';

/** Whether something listens on `port` (or it cannot be bound for another reason). */
function portTaken(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.unref();
    server.once('error', () => done(true));
    server.listen(port, HOST, () => server.close(() => done(false)));
  });
}

const RESERVED = new Set([6379, 8080, 8081, 8082, 8083, 8084]);

/**
 * `count` free ports from a random place in 20000–29999, each with its Cluster bus port (+10000)
 * free too.
 */
export async function freeRedisPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  let port = 20_000 + Math.floor(Math.random() * 9_000);
  for (let tries = 0; ports.length < count && tries < 2_000; tries++, port++) {
    if (port > 29_999) port = 20_000;
    if (RESERVED.has(port) || ports.includes(port)) continue;
    if ((await portTaken(port)) || (await portTaken(port + 10_000))) continue;
    ports.push(port);
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} free Redis ports`);
  return ports;
}

interface Proc {
  port: number;
  dir: string;
  child: ChildProcess;
  log: () => string;
}

function startServer(args: string[], port: number, dir: string): Proc {
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-10_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { port, dir, child, log: () => out };
}

/** Waits until `check` holds, polling every `everyMs`; throws `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A short-lived plain connection to one node: runs `fn`, then disconnects. */
export async function onNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

function kill(procs: Proc[]): Promise<void> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((done) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
          p.child.once('exit', () => done());
          p.child.kill('SIGKILL');
        }),
    ),
  ).then(() => undefined);
}

/** Settings every data node gets: BullMQ needs noeviction; nothing is written to disk. */
function dataNodeArgs(port: number): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'noeviction',
    '--protected-mode',
    'no',
  ];
}

function redisCli(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((done, fail) => {
    execFile('redis-cli', args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? fail(new Error(`redis-cli ${args.join(' ')}: ${stderr || err.message}`)) : done(stdout),
    );
  });
}

/** A Redis Cluster of `primaries` primaries with one replica each. */
export class RedisClusterFixture {
  private constructor(
    private readonly procs: Proc[],
    private readonly root: string,
  ) {}

  /** Every node, primaries and replicas (`host:port`). */
  get nodes(): { host: string; port: number }[] {
    return this.procs.map((p) => ({ host: HOST, port: p.port }));
  }

  /** REDIS_CLUSTER_NODES for the apps. */
  get env(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  }

  static async start(primaries = 3): Promise<RedisClusterFixture> {
    const root = mkdtempSync(join(tmpdir(), 'cap-redis-cluster-'));
    const ports = await freeRedisPorts(primaries * 2);
    const procs = ports.map((port) => {
      const dir = mkdtempSync(join(root, `${port}-`));
      return startServer(
        [
          ...dataNodeArgs(port),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          // Failure detection within a second or two, as a managed service would be tuned.
          '--cluster-node-timeout',
          '1000',
          '--cluster-replica-validity-factor',
          '0',
        ],
        port,
        dir,
      );
    });
    const fixture = new RedisClusterFixture(procs, root);
    try {
      for (const p of procs) await until(`node ${p.port}`, () => onNode(p.port, pong));
      await redisCli([
        '--cluster',
        'create',
        ...ports.map((port) => `${HOST}:${port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      await until('the cluster to be ok on every node', async () => {
        const states = await Promise.all(
          ports.map((port) => onNode(port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>)),
        );
        return states.every((s) => /cluster_state:ok/.test(s) && /cluster_slots_ok:16384/.test(s));
      });
      // Every replica attached and in sync, so that a failover has somewhere to go.
      await until('every replica to be in sync', async () => {
        const roles = await Promise.all(
          ports.map((port) => onNode(port, (r) => r.info('replication'))),
        );
        const synced = roles.filter((i) => /role:slave/.test(i) && /master_link_status:up/.test(i));
        return synced.length === primaries;
      });
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  /** Runs `fn` on every node (ACL users are per node). */
  async onEveryNode(fn: (redis: Redis) => Promise<unknown>): Promise<void> {
    for (const p of this.procs) await onNode(p.port, fn);
  }

  /** The port of the primary that serves `key`, and of its replica. */
  async ownersOf(key: string): Promise<{ primary: number; replica: number }> {
    const port = this.procs[0].port;
    const slot = await onNode(port, (r) => r.call('CLUSTER', 'KEYSLOT', key) as Promise<number>);
    const slots = (await onNode(port, (r) => r.call('CLUSTER', 'SLOTS'))) as [
      number,
      number,
      ...[string, number, string][],
    ][];
    const range = slots.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node serves slot ${slot}`);
    return { primary: range[2][1], replica: range[3][1] };
  }

  /**
   * Fails the primary of `key` over to its replica (`CLUSTER FAILOVER` on the replica: the
   * primary stops taking writes, the replica catches up, then takes over) and resolves once the
   * replica is a primary. Returns the ports before the switch.
   */
  async failover(key: string): Promise<{ primary: number; replica: number }> {
    const owners = await this.ownersOf(key);
    await onNode(owners.replica, (r) => r.call('CLUSTER', 'FAILOVER'));
    await until(
      `node ${owners.replica} to become a primary`,
      () => onNode(owners.replica, async (r) => /role:master/.test(await r.info('replication'))),
      15_000,
      20,
    );
    return owners;
  }

  async stop(): Promise<void> {
    await kill(this.procs);
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A primary with one replica, watched by three sentinels (quorum 2). */
export class RedisSentinelFixture {
  /** The name the sentinels know the primary by (REDIS_SENTINEL_NAME). */
  readonly name = 'cap-test';

  private constructor(
    private readonly data: Proc[],
    private readonly sentinelProcs: Proc[],
    private readonly root: string,
  ) {}

  /** REDIS_SENTINELS for the apps. */
  get env(): string {
    return this.sentinelProcs.map((p) => `${HOST}:${p.port}`).join(',');
  }

  /** The data nodes' ports (primary first, as started). */
  get dataPorts(): number[] {
    return this.data.map((p) => p.port);
  }

  static async start(): Promise<RedisSentinelFixture> {
    const root = mkdtempSync(join(tmpdir(), 'cap-redis-sentinel-'));
    const [primary, replica, ...sentinelPorts] = await freeRedisPorts(5);
    // A write is taken only while a replica follows (min-replicas-to-write): once the replica is
    // promoted, the old primary refuses writes at once instead of taking ones that the
    // failover would throw away.
    const durable = ['--min-replicas-to-write', '1', '--min-replicas-max-lag', '2'];
    const data = [
      startServer([...dataNodeArgs(primary), ...durable], primary, mkdtempSync(join(root, 'p-'))),
      startServer(
        [...dataNodeArgs(replica), ...durable, '--replicaof', HOST, String(primary)],
        replica,
        mkdtempSync(join(root, 'r-')),
      ),
    ];
    const fixture = new RedisSentinelFixture(data, [], root);
    try {
      for (const p of data) await until(`node ${p.port}`, () => onNode(p.port, pong));
      await until('the replica to be in sync', () =>
        onNode(replica, async (r) => /master_link_status:up/.test(await r.info('replication'))),
      );
      for (const port of sentinelPorts) {
        const dir = mkdtempSync(join(root, `s${port}-`));
        // A sentinel rewrites its config file: each gets its own, in its own directory.
        const conf = join(dir, 'sentinel.conf');
        writeFileSync(
          conf,
          [
            `port ${port}`,
            `bind ${HOST}`,
            `dir ${dir}`,
            `sentinel monitor ${fixture.name} ${HOST} ${primary} 2`,
            `sentinel down-after-milliseconds ${fixture.name} 1000`,
            `sentinel failover-timeout ${fixture.name} 5000`,
            `sentinel parallel-syncs ${fixture.name} 1`,
            '',
          ].join('\n'),
        );
        fixture.sentinelProcs.push(startServer([conf, '--sentinel'], port, dir));
      }
      await until('the sentinels to know each other and the replica', async () => {
        const views = await Promise.all(
          sentinelPorts.map((port) =>
            onNode(port, (r) => r.call('SENTINEL', 'MASTER', fixture.name) as Promise<string[]>),
          ),
        );
        return views.every((v) => {
          const field = (k: string) => Number(v[v.indexOf(k) + 1]);
          return field('num-other-sentinels') === 2 && field('num-slaves') === 1;
        });
      });
    } catch (err) {
      await fixture.stop();
      throw err;
    }
    return fixture;
  }

  /** Runs `fn` on each data node (ACL users are per node, not replicated). */
  async onEveryDataNode(fn: (redis: Redis) => Promise<unknown>): Promise<void> {
    for (const p of this.data) await onNode(p.port, fn);
  }

  /** The port of the primary the sentinels name now. */
  async primaryPort(): Promise<number> {
    const [, port] = await onNode(
      this.sentinelProcs[0].port,
      (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name) as Promise<string[]>,
    );
    return Number(port);
  }

  /**
   * `SENTINEL FAILOVER`: resolves once the sentinels name the other node as the primary and
   * that node says it is one. Returns the ports before and after.
   */
  async failover(): Promise<{ from: number; to: number }> {
    const from = await this.primaryPort();
    await onNode(this.sentinelProcs[0].port, (r) => r.call('SENTINEL', 'FAILOVER', this.name));
    let to = from;
    await until(
      'the sentinels to name a new primary',
      async () => {
        to = await this.primaryPort();
        return (
          to !== from &&
          (await onNode(to, async (r) => /role:master/.test(await r.info('replication'))))
        );
      },
      20_000,
      20,
    );
    return { from, to };
  }

  /** Resolves once the old primary follows the new one and is in sync (writes are taken again). */
  async settled(): Promise<void> {
    const primary = await this.primaryPort();
    const other = this.data.find((p) => p.port !== primary)!.port;
    await until('the old primary to follow the new one', () =>
      onNode(other, async (r) => /master_link_status:up/.test(await r.info('replication'))),
    );
  }

  async stop(): Promise<void> {
    await kill([...this.sentinelProcs, ...this.data]);
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function pong(r: Redis): Promise<boolean> {
  return (await r.ping()) === 'PONG';
}
