/**
 * `npm run bench`: the platform against a bare Fastify baseline, in one process tree, on this
 * machine. Interleaved rounds with the same connections and duration for every target; prints
 * requests/s, p50/p99 latency, CPU per request and each route's ratio to the baseline, then
 * checks that the usage API counted exactly the 2xx responses the load generator saw.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { loadConfig } from '@cap/config';
import { REPO_ROOT, RunningApp, spawnTs, TestPlatform, tokenRequest } from '@cap/testing';
import { cpuMs } from './proc-cpu';

const env = loadConfig(
  z.object({
    BENCH_ROUNDS: z.coerce.number().int().min(1).max(20).default(3),
    BENCH_DURATION_S: z.coerce.number().int().min(1).max(60).default(5),
    BENCH_CONNECTIONS: z.coerce.number().int().min(1).max(1000).default(50),
    BENCH_EXACT_REQUESTS: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
    /** Pin the servers measured to CPU 0 and the load generator to CPU 1 (`taskset`). */
    BENCH_PIN: z.stringbool().default(false),
  }),
);

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
  /** Processes whose CPU this route costs. */
  pids: () => number[];
  /** Counted by the usage API (authenticated through the gateway with the bench key). */
  metered: boolean;
}

interface Sample {
  /** CPU a second, idle gateway replica used meanwhile (% of one core). */
  idleReplicaCpuPct: number;
  /** Commands Redis processed per request (all clients: the platform's background work too). */
  redisPerReq: number;
  /** Requests the load generator completed. */
  total: number;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerReq: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
}

/** Commands Redis has processed since it started. */
async function redisCommands(redis: Redis): Promise<number> {
  const stats = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? NaN);
}

async function load(target: Target, redis: Redis, idleReplica: number): Promise<Sample> {
  const pids = target.pids();
  const cpuBefore = pids.map(cpuMs);
  const idleBefore = cpuMs(idleReplica);
  const started = performance.now();
  const redisBefore = await redisCommands(redis);
  const sample = await new Promise<Omit<Sample, 'redisPerReq' | 'idleReplicaCpuPct'>>(
    (done, fail) => {
      autocannon(
        {
          url: target.url,
          headers: target.headers,
          connections: env.BENCH_CONNECTIONS,
          duration: env.BENCH_DURATION_S,
        },
        (err, result) => {
          if (err) return fail(err instanceof Error ? err : new Error(String(err)));
          const cpu = pids.map(cpuMs).reduce((a, b, i) => a + b - cpuBefore[i], 0);
          const total = result.requests.total || 1;
          done({
            total,
            rps: result.requests.average,
            p50: result.latency.p50,
            p99: result.latency.p99,
            cpuUsPerReq: (cpu * 1000) / total,
            ok2xx: result['2xx'],
            non2xx: result.non2xx,
            errors: result.errors + result.timeouts,
          });
        },
      );
    },
  );
  const idleReplicaCpuPct =
    ((cpuMs(idleReplica) - idleBefore) / (performance.now() - started)) * 100;
  const redisAfter = await redisCommands(redis);
  // The two INFO calls are the bench's own.
  return {
    ...sample,
    idleReplicaCpuPct,
    redisPerReq: (redisAfter - redisBefore - 2) / sample.total,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** A baseline server (`bench/<entry>`) answering with `body`, and its URL. */
async function startBaseline(
  entry: string,
  body: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTs(`bench/${entry}`, [], { BENCH_BODY: body, PORT: '0' });
  const url = await new Promise<string>((done, fail) => {
    child.stdout?.once('data', (d: Buffer) => done(d.toString().trim()));
    child.once('exit', (code) => fail(new Error(`${entry} exited ${code}`)));
  });
  return { url, child };
}

async function main(): Promise<void> {
  process.stderr.write('bench: starting the platform…\n');
  // OAuth clients have no per-client limit yet: the default is raised so the OAuth route
  // measures the cost of limiting, not 429s (the API key gets its own high limit below).
  const platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    { LOG_LEVEL: 'warn', RATE_LIMIT_DEFAULT: '100000000' },
  );
  const baselines: ChildProcess[] = [];
  let idleGateway: RunningApp | undefined;
  let infoGateway: RunningApp | undefined;
  const redis = new Redis(platform.env.REDIS_URL);
  try {
    const tenant = await platform.tenant('bench');
    // A key's limit may not exceed its project's, which only an operator raises.
    await platform.admin([
      'set-project-limit',
      '--project',
      tenant.project.id,
      '--limit',
      '10000000',
    ]);
    const gw = platform.url('api-gateway');
    // A key with a limit the load cannot reach: this measures the cost of limiting, not 429s.
    const created = await fetch(`${gw}/v1/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tenant.secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        project_id: tenant.project.id,
        name: 'bench',
        rate_limit: 10_000_000,
      }),
    });
    if (created.status !== 201)
      throw new Error(`cannot create the bench key: ${await created.text()}`);
    const benchKey = (await created.json()) as { id: string; secret: string };
    const auth = { Authorization: `Bearer ${benchKey.secret}` };
    const regionsBody = await (await fetch(`${gw}/v1/regions`, { headers: auth })).text();

    // An OAuth access token (client credentials) for the same route.
    const client = await platform.admin<{ id: string; client_secret: string }>([
      'create-client',
      '--owner',
      tenant.email,
      '--name',
      'bench',
      '--redirect-uri',
      'https://bench.example/callback',
    ]);
    const tokenRes = await tokenRequest(platform.url('auth-server'), {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: client.client_secret,
      scope: 'projects:read',
    });
    if (tokenRes.status !== 200) throw new Error(`no OAuth token: ${await tokenRes.text()}`);
    const accessToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    const bare = await startBaseline('bare-server.ts', regionsBody);
    baselines.push(bare.child);
    const floor = await startBaseline('contract-floor-server.ts', regionsBody);
    baselines.push(floor.child);

    const app = (name: Parameters<TestPlatform['url']>[0]): RunningApp => platform.apps.get(name!)!;
    const gwPid = () => app('api-gateway').process.pid!;
    // The same gateway at the default level: one access line per request (to a pipe, which the
    // bench reads, as a container runtime or `npm start`'s terminal would).
    infoGateway = await platform.startApp('api-gateway', { LOG_LEVEL: 'info' });
    const infoPid = infoGateway.process.pid!;
    if (env.BENCH_PIN) {
      // Each server measured gets CPU 0 to itself while it is loaded; the load generator, CPU 1.
      for (const pid of [bare.child.pid!, floor.child.pid!, gwPid(), infoPid]) {
        execFileSync('taskset', ['-a', '-c', '-p', '0', String(pid)], { stdio: 'ignore' });
      }
      execFileSync('taskset', ['-a', '-c', '-p', '1', String(process.pid)], { stdio: 'ignore' });
    }
    const targets: Target[] = [
      {
        name: 'bare Fastify GET /v1/regions',
        url: `${bare.url}/v1/regions`,
        headers: {},
        pids: () => [bare.child.pid!],
        metered: false,
      },
      {
        name: 'contract floor (bare Fastify + the least the contract needs)',
        url: `${floor.url}/v1/regions`,
        headers: auth,
        pids: () => [floor.child.pid!],
        metered: false,
      },
      {
        name: 'GET /v1/regions (API key)',
        url: `${gw}/v1/regions`,
        headers: auth,
        pids: () => [gwPid()],
        metered: true,
      },
      {
        name: 'GET /v1/regions (API key), LOG_LEVEL=info',
        url: `${infoGateway.url}/v1/regions`,
        headers: auth,
        pids: () => [infoPid],
        metered: true,
      },
      {
        name: 'GET /v1/regions (OAuth access token)',
        url: `${gw}/v1/regions`,
        headers: { Authorization: `Bearer ${accessToken}` },
        pids: () => [gwPid()],
        metered: false,
      },
      {
        name: 'GET /v1/projects (API key, via queue)',
        url: `${gw}/v1/projects`,
        headers: auth,
        pids: () => [gwPid(), app('projects-service').process.pid!],
        metered: true,
      },
    ];

    const usageUrl = (start: string) =>
      `${gw}/v1/usage?${new URLSearchParams({
        project_id: tenant.project.id,
        start,
        end: new Date(Date.now() + 120_000).toISOString(),
        granularity: 'hour',
        group_by: 'key',
      }).toString()}`;
    const benchStart = new Date(Date.now() - 3_600_000).toISOString();
    const usage = async () =>
      (await (
        await fetch(usageUrl(benchStart), { headers: { Authorization: `Bearer ${tenant.secret}` } })
      ).json()) as { complete_through: string; data: Array<{ key: string; requests: number }> };

    // How far complete_through trails real time while the gateway is under load.
    let maxLagMs = 0;
    let polling = false;
    const poller = setInterval(() => {
      if (!polling) return;
      void usage().then((u) => {
        maxLagMs = Math.max(maxLagMs, Date.now() - Date.parse(u.complete_through));
      });
    }, 500);

    // A second gateway replica that serves nothing: what it spends is what one replica pays for
    // the others' traffic (shared queue state it must read), which grows with the replica count.
    idleGateway = await platform.startApp('api-gateway');
    // One unrecorded second per target first: JIT compilation and cold caches are not measured.
    for (const target of targets) {
      process.stderr.write(`bench: warming up ${target.name}\n`);
      await autocannon({
        url: target.url,
        headers: target.headers,
        connections: env.BENCH_CONNECTIONS,
        duration: 1,
      });
    }
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.name, []]));
    for (let round = 1; round <= env.BENCH_ROUNDS; round++) {
      for (const target of targets) {
        process.stderr.write(`bench: round ${round}/${env.BENCH_ROUNDS} ${target.name}\n`);
        polling = target.metered;
        samples.get(target.name)!.push(await load(target, redis, idleGateway.process.pid!));
        polling = false;
      }
    }
    clearInterval(poller);

    // Exactness. A timed run stops with requests in flight that the server may still answer
    // but the load generator never counts, so this check is a run of a fixed number of
    // requests at full speed: the usage API must count exactly the responses it saw.
    const settledCount = async (): Promise<number> => {
      const until = Date.now();
      const deadline = until + 30_000;
      while (Date.now() < deadline) {
        const u = await usage();
        if (Date.parse(u.complete_through) >= until) {
          return u.data.filter((b) => b.key === benchKey.id).reduce((n, b) => n + b.requests, 0);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('complete_through did not catch up within 30 s');
    };
    const before = await settledCount();
    process.stderr.write(`bench: exactness run of ${env.BENCH_EXACT_REQUESTS} requests\n`);
    const exactRun = await autocannon({
      url: `${gw}/v1/regions`,
      headers: auth,
      connections: env.BENCH_CONNECTIONS,
      amount: env.BENCH_EXACT_REQUESTS,
    });
    const sent = exactRun['2xx'] + exactRun.non2xx;
    const counted = (await settledCount()) - before;

    const base = median(samples.get(targets[0].name)!.map((s) => s.rps));
    const rows = targets.map((t) => {
      const s = samples.get(t.name)!;
      const rps = median(s.map((x) => x.rps));
      return {
        route: t.name,
        rps: Math.round(rps),
        p50_ms: median(s.map((x) => x.p50)),
        p99_ms: median(s.map((x) => x.p99)),
        cpu_us_per_req: Math.round(median(s.map((x) => x.cpuUsPerReq)) * 10) / 10,
        redis_per_req: median(s.map((x) => x.redisPerReq)),
        ratio: Math.round((rps / base) * 1000) / 1000,
        ok_2xx: s.reduce((a, x) => a + x.ok2xx, 0),
        non_2xx: s.reduce((a, x) => a + x.non2xx, 0),
        errors: s.reduce((a, x) => a + x.errors, 0),
      };
    });

    const table = [
      '| route | req/s | p50 ms | p99 ms | CPU µs/req | Redis cmds/req | ratio to bare | 2xx | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.route} | ${r.rps} | ${r.p50_ms} | ${r.p99_ms} | ${r.cpu_us_per_req} | ${r.redis_per_req.toFixed(3)} | ${r.ratio.toFixed(3)} | ${r.ok_2xx} | ${r.non_2xx} |`,
      ),
    ].join('\n');
    const exact = counted === sent;
    const usageLine =
      `usage check: the usage API counted ${counted} requests with the bench key; the load ` +
      `generator saw ${exactRun['2xx']} 2xx and ${exactRun.non2xx} other responses ` +
      `(ratio ${(counted / sent).toFixed(3)}${exact ? ', exact' : ', MISMATCH'}); ` +
      `complete_through trailed real time by at most ${(maxLagMs / 1000).toFixed(1)} s under load`;
    const rpsOf = (name: string) => rows.find((r) => r.route === name)?.rps ?? 0;
    const oauthLine =
      `OAuth-token request vs API-key request: ` +
      (rpsOf('GET /v1/regions (OAuth access token)') / rpsOf('GET /v1/regions (API key)')).toFixed(
        3,
      );
    const floorLine =
      `API-key request vs the contract floor: ` +
      (rpsOf('GET /v1/regions (API key)') / rpsOf(targets[1].name)).toFixed(3);
    const logLine =
      `access log on (LOG_LEVEL=info) vs off (warn): ` +
      (
        rpsOf('GET /v1/regions (API key), LOG_LEVEL=info') / rpsOf('GET /v1/regions (API key)')
      ).toFixed(3);
    const projects = samples.get('GET /v1/projects (API key, via queue)')!;
    const idleLine =
      `an idle second gateway replica used ` +
      `${median(projects.map((x) => x.idleReplicaCpuPct)).toFixed(1)} % of a core while the ` +
      `first served GET /v1/projects at ${rpsOf('GET /v1/projects (API key, via queue)')} req/s`;
    const summary = `${oauthLine}\n${floorLine}\n${logLine}\n${idleLine}\n${usageLine}`;
    process.stdout.write(`\n${table}\n\n${summary}\n`);

    const dir = resolve(REPO_ROOT, 'bench/results');
    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const meta = {
      at: new Date().toISOString(),
      rounds: env.BENCH_ROUNDS,
      duration_s: env.BENCH_DURATION_S,
      connections: env.BENCH_CONNECTIONS,
      pinned: env.BENCH_PIN,
    };
    const check = {
      sent,
      counted,
      exact,
      complete_through_max_lag_ms: maxLagMs,
      idle_replica_cpu_pct: median(projects.map((x) => x.idleReplicaCpuPct)),
    };
    await writeFile(resolve(dir, `${stamp}.json`), JSON.stringify({ meta, rows, check }, null, 2));
    await writeFile(
      resolve(dir, 'latest.md'),
      `${JSON.stringify(meta)}\n\n${table}\n\n${summary}\n`,
    );
    if (!exact) process.exitCode = 1;
  } finally {
    for (const child of baselines) child.kill('SIGTERM');
    await idleGateway?.stop();
    await infoGateway?.stop();
    redis.disconnect();
    await platform.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
