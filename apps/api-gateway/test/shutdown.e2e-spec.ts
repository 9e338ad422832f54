/**
 * Drained shutdown, as a load balancer sees it: two gateways behind a small round-robin balancer
 * that polls `/readyz` (as a Kubernetes Service or a cloud load balancer does). SIGTERM to one
 * under steady load: its `/readyz` turns 503 at once, it keeps serving during its drain delay,
 * the balancer takes it out, and then it closes and exits 0. No client request fails, and every
 * request is counted in usage, those of the stopped gateway included (its last flush).
 */
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { RunningApp, sleep, Tenant, TestPlatform } from '@cap/testing';

const DRAIN_MS = 1_500;
const REQUESTS = 500;
const WORKERS = 5;
const PACE_MS = 40;

let platform: TestPlatform;
let alice: Tenant;
let gateways: RunningApp[] = [];

beforeAll(async () => {
  platform = await TestPlatform.start(['projects-service', 'auth-server', 'usage-worker'], {
    USAGE_FLUSH_MS: '200',
  });
  gateways = await Promise.all(
    [0, 1].map(() => platform.startApp('api-gateway', { SHUTDOWN_DRAIN_MS: String(DRAIN_MS) })),
  );
  alice = await platform.tenant('alice');
}, 120_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await platform?.stop();
});

/** Round robin over the backends whose `/readyz` answered 200 at the last poll (every 100 ms). */
class Balancer {
  private readonly ready = new Map<string, boolean>();
  private next = 0;
  private server?: Server;
  private poller?: NodeJS.Timeout;
  /** Every readiness answer each backend gave, in order. */
  readonly seen = new Map<string, number[]>();

  constructor(private readonly backends: string[]) {
    for (const b of backends) this.seen.set(b, []);
  }

  async start(): Promise<string> {
    await this.poll();
    this.poller = setInterval(() => void this.poll(), 100);
    this.server = createServer((req, res) => {
      const live = this.backends.filter((b) => this.ready.get(b));
      if (live.length === 0) {
        res.writeHead(502).end('no backend');
        return;
      }
      const target = new URL(req.url ?? '/', live[this.next++ % live.length]);
      const upstream = request(
        target,
        { method: req.method, headers: req.headers, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (err) => res.writeHead(502).end(`upstream failed: ${err.message}`));
      req.pipe(upstream);
    });
    await new Promise<void>((done) => this.server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async poll(): Promise<void> {
    await Promise.all(
      this.backends.map(async (b) => {
        const status = await fetch(`${b}/readyz`, { signal: AbortSignal.timeout(500) }).then(
          (r) => r.status,
          () => 0,
        );
        this.seen.get(b)!.push(status);
        this.ready.set(b, status === 200);
      }),
    );
  }

  async stop(): Promise<void> {
    clearInterval(this.poller);
    await new Promise((done) => this.server?.close(done));
  }
}

describe('SIGTERM to a gateway under load behind a balancer', () => {
  it('loses no request and no usage, and the gateway exits 0', async () => {
    const created = await fetch(`${gateways[1].url}/v1/keys`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.secret}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ project_id: alice.project.id, name: 'load' }),
    });
    expect(created.status).toBe(201);
    const load = (await created.json()) as { id: string; secret: string };

    const balancer = new Balancer(gateways.map((g) => g.url));
    const base = await balancer.start();
    const statuses: number[] = [];
    let sent = 0;
    const worker = async () => {
      while (sent < REQUESTS) {
        const path = sent++ % 2 ? '/v1/projects' : '/v1/regions';
        const res = await fetch(`${base}${path}`, {
          headers: { Authorization: `Bearer ${load.secret}` },
        });
        await res.arrayBuffer();
        statuses.push(res.status);
        await sleep(PACE_MS);
      }
    };
    const started = Date.now();
    const running = Promise.all(Array.from({ length: WORKERS }, worker));
    // A third of the way in, the first gateway is told to stop.
    while (statuses.length < REQUESTS / 3) await sleep(10);
    const stopping = gateways[0].stop(30_000);
    const exit = await stopping;
    await running;
    await balancer.stop();

    expect(exit).toBe(0);
    expect(statuses).toHaveLength(REQUESTS);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // It said it was not ready before it went away, and the load outlasted it.
    const first = balancer.seen.get(gateways[0].url)!;
    // (A poll can time out on a busy machine: 0 is no answer, not a verdict.)
    expect(first.lastIndexOf(503)).toBeGreaterThan(first.lastIndexOf(200));
    expect(Date.now() - started).toBeGreaterThan(DRAIN_MS);

    // Every request counted, once: the stopped gateway flushed its last batch on the way out.
    const until = Date.now();
    let counted = -1;
    for (const deadline = until + 20_000; Date.now() < deadline; await sleep(200)) {
      const q = new URLSearchParams({
        project_id: alice.project.id,
        start: new Date(started - 120_000).toISOString(),
        end: new Date(until + 120_000).toISOString(),
        granularity: 'minute',
        group_by: 'key',
      });
      const res = await fetch(`${gateways[1].url}/v1/usage?${q.toString()}`, {
        headers: { Authorization: `Bearer ${alice.secret}` },
      });
      const body = (await res.json()) as {
        complete_through: string;
        data: Array<{ key: string; requests: number }>;
      };
      if (Date.parse(body.complete_through) < until) continue;
      counted = body.data.filter((b) => b.key === load.id).reduce((n, b) => n + b.requests, 0);
      break;
    }
    expect(counted).toBe(REQUESTS);
  }, 120_000);
});
