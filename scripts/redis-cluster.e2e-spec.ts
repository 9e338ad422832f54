/**
 * The platform on a Redis Cluster: 3 primaries with a replica each, started here from this
 * machine's redis-server on free loopback ports. Every app as its own ACL user (on every node),
 * the journey, and a primary failed over (`CLUSTER FAILOVER` on its replica) under steady load:
 * 503 with the error object during the switch, recovery by itself, no acknowledged write and no
 * counted request lost. Prints the measured outage and recovery.
 */
import { RedisClusterFixture, TestPlatform } from '@cap/testing';
import { loadThroughFailover, runJourney, startHaPlatform } from './redis-ha';

let cluster: RedisClusterFixture | undefined;
let platform: TestPlatform | undefined;

beforeAll(async () => {
  cluster = await RedisClusterFixture.start(3);
  const nodes = cluster;
  platform = await startHaPlatform({ REDIS_CLUSTER_NODES: nodes.env }, (fn) =>
    nodes.onEveryNode(fn),
  );
}, 90_000);

afterAll(async () => {
  await platform?.stop();
  await cluster?.stop();
}, 30_000);

describe('Redis Cluster', () => {
  it('runs the journey', async () => {
    await runJourney(platform!, 'cluster');
  }, 60_000);

  it('survives a primary failing over under load', async () => {
    const report = await loadThroughFailover(
      platform!,
      // The primary of the projects queue: every request under load goes through it.
      async () => {
        const owners = await cluster!.failover('{projects}');
        process.stdout.write(
          `cluster failover: primary ${owners.primary} -> replica ${owners.replica}\n`,
        );
      },
      { label: 'cluster-load' },
    );
    process.stdout.write(`redis cluster failover: ${JSON.stringify(report)}\n`);
    expect(report.recoveryMs).toBeLessThan(20_000);
  }, 90_000);
});
