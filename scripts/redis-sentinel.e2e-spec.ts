/**
 * The platform on Redis Sentinel: a primary, a replica and 3 sentinels, started here from this
 * machine's redis-server on free loopback ports. Every app as its own ACL user (on both nodes),
 * the journey, and `SENTINEL FAILOVER` under steady load: 503 with the error object during the
 * switch, recovery by itself, no acknowledged write and no counted request lost. Prints the
 * measured outage and recovery.
 */
import { RedisSentinelFixture, TestPlatform } from '@cap/testing';
import { loadThroughFailover, runJourney, startHaPlatform } from './redis-ha';

let sentinel: RedisSentinelFixture | undefined;
let platform: TestPlatform | undefined;

beforeAll(async () => {
  sentinel = await RedisSentinelFixture.start();
  const nodes = sentinel;
  platform = await startHaPlatform(
    { REDIS_SENTINELS: nodes.env, REDIS_SENTINEL_NAME: nodes.name },
    (fn) => nodes.onEveryDataNode(fn),
  );
}, 90_000);

afterAll(async () => {
  await platform?.stop();
  await sentinel?.stop();
}, 30_000);

describe('Redis Sentinel', () => {
  it('runs the journey', async () => {
    await runJourney(platform!, 'sentinel');
  }, 60_000);

  it('survives the primary failing over under load', async () => {
    const report = await loadThroughFailover(
      platform!,
      async () => {
        const { from, to } = await sentinel!.failover();
        process.stdout.write(`sentinel failover: primary ${from} -> ${to}\n`);
      },
      { label: 'sentinel-load' },
    );
    process.stdout.write(`redis sentinel failover: ${JSON.stringify(report)}\n`);
    expect(report.recoveryMs).toBeLessThan(20_000);
  }, 90_000);
});
