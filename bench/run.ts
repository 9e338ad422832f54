/**
 * `npm run bench`: the platform against its baselines, in one process tree, on this machine —
 * bare Fastify, the contract floor (bare Fastify doing the least the contract asks), a typical
 * NestJS gateway and a NestJS monolith (`typical-nest.ts`), and the platform itself on real
 * Postgres and on the embedded PGlite of `npm start`. Interleaved rounds with the same
 * connections and duration for every target; prints requests/s, p50/p99 latency, CPU per
 * request, Redis commands per request and each route's ratio to bare, then the table of the
 * targets (issue 14) with each ratio's spread over the rounds, and checks that the usage API
 * counted exactly the 2xx responses the load generator saw.
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

const KEY = 'GET /v1/regions (API key)';
const KEY_INFO = 'GET /v1/regions (API key), LOG_LEVEL=info';
const FLOOR = 'contract floor (bare Fastify + the least the contract needs)';
const FLOOR_NEST = 'contract floor behind a Nest controller (what Nest adds to the floor)';
const TYPICAL =
  'typical gateway GET /v1/regions (Nest + AuthGuard(bearer) + @nestjs/throttler on Redis + HINCRBY)';
const PROJECTS = 'GET /v1/projects (API key, via queue)';
const MONOLITH =
  'monolith GET /v1/projects (one Nest app: the typical stack + the same Prisma query)';
const EMBEDDED = 'GET /v1/projects (API key, via queue), embedded PGlite';

/**
 * The targets of issue 14: `a` over `b` (requests/s) at least `min`; rows without `min` are the
 * measurements that explain a target (the contract floor behind Nest bounds what any Nest
 * controller route can reach against the bare floor).
 */
const RATIO_TARGETS: Array<{ what: string; a: string; b: string; min?: number }> = [
  { what: 'access log on (info) vs off (warn)', a: KEY_INFO, b: KEY, min: 0.85 },
  { what: 'data plane vs the contract floor', a: KEY, b: FLOOR, min: 0.9 },
  { what: 'the contract floor behind Nest vs the bare floor', a: FLOOR_NEST, b: FLOOR },
  { what: 'data plane vs the contract floor behind Nest', a: KEY, b: FLOOR_NEST },
  { what: 'data plane vs a typical gateway', a: KEY, b: TYPICAL, min: 3 },
  { what: 'GET /v1/projects via the queue vs the monolith', a: PROJECTS, b: MONOLITH, min: 1.2 },
  { what: 'embedded PGlite vs real Postgres', a: EMBEDDED, b: PROJECTS, min: 0.6 },
];
const MAX_REDIS_PER_PROJECTS_CALL = 15;

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

/** A helper process (`entry`, a path in the repository) that prints one line (its URL) when ready. */
async function startBaseline(
  entry: string,
  body: string,
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnTs(entry, [], { BENCH_BODY: body, PORT: '0', ...env });
  const url = await new Promise<string>((done, fail) => {
    child.stdout?.once('data', (d: Buffer) => done(d.toString().trim()));
    child.once('exit', (code) => fail(new Error(`${entry} exited ${code}`)));
  });
  return { url, child };
}

/**
 * A tenant with a bench key on `platform`: the key's limit is one the load cannot reach, so the
 * bench measures the cost of limiting, not 429s (a key's limit may not exceed its project's,
 * which only an operator raises).
 */
async function benchTenant(platform: TestPlatform) {
  const tenant = await platform.tenant('bench');
  await platform.admin([
    'set-project-limit',
    '--project',
    tenant.project.id,
    '--limit',
    '10000000',
  ]);
  const created = await fetch(`${platform.url('api-gateway')}/v1/keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tenant.secret}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ project_id: tenant.project.id, name: 'bench', rate_limit: 10_000_000 }),
  });
  if (created.status !== 201)
    throw new Error(`cannot create the bench key: ${await created.text()}`);
  return { tenant, benchKey: (await created.json()) as { id: string; secret: string } };
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
  let embeddedPlatform: TestPlatform | undefined;
  let embeddedDir: string | undefined;
  try {
    const { tenant, benchKey } = await benchTenant(platform);
    const gw = platform.url('api-gateway');
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
    const bare = await startBaseline('bench/bare-server.ts', regionsBody);
    baselines.push(bare.child);
    const floor = await startBaseline('bench/contract-floor-server.ts', regionsBody);
    baselines.push(floor.child);
    const floorNest = await startBaseline('bench/contract-floor-nest.ts', regionsBody);
    baselines.push(floorNest.child);
    const typical = await startBaseline('bench/typical-gateway.ts', regionsBody, {
      REDIS_URL: platform.env.REDIS_URL,
    });
    baselines.push(typical.child);
    const monolith = await startBaseline('bench/monolith.ts', '', {
      REDIS_URL: platform.env.REDIS_URL,
      DATABASE_URL: platform.env.DATABASE_URL,
      DB_POOL_MAX: platform.env.DB_POOL_MAX,
    });
    baselines.push(monolith.child);

    // The platform as `npm start` runs it by default: on the embedded PGlite, in its own process.
    embeddedDir = await mkdtemp(join(tmpdir(), 'bench-pglite-'));
    const embeddedDb = await startBaseline('scripts/embedded-db.ts', '', {
      BENCH_DATA_DIR: embeddedDir,
    });
    baselines.push(embeddedDb.child);
    embeddedPlatform = await TestPlatform.start(
      ['projects-service', 'auth-server', 'api-gateway'],
      {
        LOG_LEVEL: 'warn',
        RATE_LIMIT_DEFAULT: '100000000',
        DATABASE_URL: embeddedDb.url,
        // As `npm start` sizes pools on the embedded database.
        DB_POOL_MAX: '2',
      },
    );
    const embeddedKey = (await benchTenant(embeddedPlatform)).benchKey;
    const embeddedGw = embeddedPlatform.apps.get('api-gateway')!;

    const app = (name: Parameters<TestPlatform['url']>[0]): RunningApp => platform.apps.get(name!)!;
    const gwPid = () => app('api-gateway').process.pid!;
    // The same gateway at the default level: one access line per request (to a pipe, which the
    // bench reads, as a container runtime or `npm start`'s terminal would).
    infoGateway = await platform.startApp('api-gateway', { LOG_LEVEL: 'info' });
    const infoPid = infoGateway.process.pid!;
    if (env.BENCH_PIN) {
      // Each server measured gets CPU 0 to itself while it is loaded; the load generator, CPU 1.
      for (const pid of [
        bare.child.pid!,
        floor.child.pid!,
        floorNest.child.pid!,
        typical.child.pid!,
        monolith.child.pid!,
        gwPid(),
        infoPid,
      ]) {
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
        name: FLOOR,
        url: `${floor.url}/v1/regions`,
        headers: auth,
        pids: () => [floor.child.pid!],
        metered: false,
      },
      {
        name: FLOOR_NEST,
        url: `${floorNest.url}/v1/regions`,
        headers: auth,
        pids: () => [floorNest.child.pid!],
        metered: false,
      },
      {
        name: KEY,
        url: `${gw}/v1/regions`,
        headers: auth,
        pids: () => [gwPid()],
        metered: true,
      },
      {
        name: KEY_INFO,
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
        name: TYPICAL,
        url: `${typical.url}/v1/regions`,
        headers: auth,
        pids: () => [typical.child.pid!],
        metered: false,
      },
      {
        name: PROJECTS,
        url: `${gw}/v1/projects`,
        headers: auth,
        pids: () => [gwPid(), app('projects-service').process.pid!],
        metered: true,
      },
      {
        name: MONOLITH,
        url: `${monolith.url}/v1/projects`,
        headers: auth,
        pids: () => [monolith.child.pid!],
        metered: false,
      },
      {
        name: EMBEDDED,
        url: `${embeddedGw.url}/v1/projects`,
        headers: { Authorization: `Bearer ${embeddedKey.secret}` },
        pids: () => [
          embeddedGw.process.pid!,
          embeddedPlatform!.apps.get('projects-service')!.process.pid!,
          embeddedDb.child.pid!,
        ],
        metered: false,
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
    // Each ratio per round (the targets ran one after another within a round), so the spread
    // shows how far one run's noise moves it.
    const goals = RATIO_TARGETS.map((t) => {
      const a = samples.get(t.a)!;
      const b = samples.get(t.b)!;
      const perRound = a.map((x, i) => x.rps / b[i].rps);
      const ratio = rpsOf(t.a) / rpsOf(t.b);
      return {
        what: t.what,
        ratio,
        spread: [Math.min(...perRound), Math.max(...perRound)],
        goal: t.min === undefined ? '—' : `≥ ${t.min}`,
        met: t.min === undefined ? undefined : ratio >= t.min,
      };
    });
    const projectsRedis = rows.find((r) => r.route === PROJECTS)!.redis_per_req;
    goals.push({
      what: 'Redis commands per GET /v1/projects',
      ratio: projectsRedis,
      spread: [
        Math.min(...samples.get(PROJECTS)!.map((x) => x.redisPerReq)),
        Math.max(...samples.get(PROJECTS)!.map((x) => x.redisPerReq)),
      ],
      goal: `≤ ${MAX_REDIS_PER_PROJECTS_CALL}`,
      met: projectsRedis <= MAX_REDIS_PER_PROJECTS_CALL,
    });
    const goalTable = [
      '| target | measured | rounds | goal | met |',
      '|---|---:|---:|---:|---|',
      ...goals.map(
        (g) =>
          `| ${g.what} | ${g.ratio.toFixed(3)} | ${g.spread[0].toFixed(2)}–${g.spread[1].toFixed(2)} | ${g.goal} | ${g.met === undefined ? '' : g.met ? 'yes' : 'no'} |`,
      ),
    ].join('\n');
    const projects = samples.get(PROJECTS)!;
    const idleLine =
      `an idle second gateway replica used ` +
      `${median(projects.map((x) => x.idleReplicaCpuPct)).toFixed(1)} % of a core while the ` +
      `first served GET /v1/projects at ${rpsOf(PROJECTS)} req/s`;
    const summary = `${goalTable}\n\n${oauthLine}\n${idleLine}\n${usageLine}`;
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
    await writeFile(
      resolve(dir, `${stamp}.json`),
      JSON.stringify({ meta, rows, goals, check }, null, 2),
    );
    await writeFile(
      resolve(dir, 'latest.md'),
      `${JSON.stringify(meta)}\n\n${table}\n\n${summary}\n`,
    );
    if (!exact) process.exitCode = 1;
  } finally {
    await embeddedPlatform?.stop();
    for (const child of baselines) child.kill('SIGTERM');
    if (embeddedDir) await rm(embeddedDir, { recursive: true, force: true });
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
