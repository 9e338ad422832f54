import Fastify from 'fastify';
import { Metrics, UNMATCHED_ROUTE } from './metrics';

describe('Metrics', () => {
  it('labels every series with the app and keeps apps in one process apart', async () => {
    const a = new Metrics('app-a');
    const b = new Metrics('app-b');
    a.counter({ name: 'things_total', help: 'Things.' }).inc(2);
    b.counter({ name: 'things_total', help: 'Things.' }).inc(5);
    expect(await a.registry.metrics()).toContain('things_total{app="app-a"} 2');
    expect(await b.registry.metrics()).toContain('things_total{app="app-b"} 5');
  });

  it('gives a second registration of a name the metric already registered', async () => {
    const m = new Metrics('app');
    const config = { name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] as const };
    m.counter(config).inc({ queue: 'one' });
    m.counter(config).inc({ queue: 'one' });
    expect(await m.registry.metrics()).toContain('jobs_total{queue="one",app="app"} 2');
  });

  it('records a route by status code, each status its own series', async () => {
    const m = new Metrics('app');
    const record = m.httpRoute('GET', '/v1/things/:id');
    record(200, 0.002);
    record(200, 0.004);
    record(404, 0.001);
    const text = await m.registry.metrics();
    const value = (name: string, status: string) =>
      text
        .split('\n')
        .find(
          (l) =>
            l.startsWith(`${name}{`) &&
            l.includes('route="/v1/things/:id"') &&
            l.includes(`status_code="${status}"`),
        )
        ?.split(' ')[1];
    expect(value('http_request_duration_seconds_count', '200')).toBe('2');
    expect(value('http_request_duration_seconds_count', '404')).toBe('1');
    expect(Number(value('http_request_duration_seconds_sum', '200'))).toBeCloseTo(0.006);
  });

  it('labels a route served for several methods with the method of each request', async () => {
    const m = new Metrics('app');
    const app = Fastify();
    m.observeRoutes(app);
    app.all('/things/*', (_req, reply) => reply.send('ok'));
    await app.inject({ method: 'GET', url: '/things/a' });
    await app.inject({ method: 'POST', url: '/things/b' });
    const text = await m.registry.metrics();
    const counts = text
      .split('\n')
      .filter((l) => l.startsWith('http_request_duration_seconds_count{'));
    expect(counts.some((l) => l.includes('method="GET"') && l.endsWith(' 1'))).toBe(true);
    expect(counts.some((l) => l.includes('method="POST"') && l.endsWith(' 1'))).toBe(true);
    expect(counts.every((l) => !/method="[A-Z]+,/.test(l))).toBe(true);
    await app.close();
  });

  it('times requests no route matched, with no onResponse hook installed', async () => {
    const m = new Metrics('app');
    const app = Fastify();
    app.addHook('onRequest', (req, reply, done) => {
      if (req.is404) m.unmatched(req, reply);
      done();
    });
    app.setNotFoundHandler((_req, reply) => {
      setTimeout(() => void reply.code(404).send('nope'), 20);
    });
    await app.inject({ method: 'GET', url: '/nowhere' });
    const text = await m.registry.metrics();
    const sum = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('http_request_duration_seconds_sum{') &&
          l.includes(`route="${UNMATCHED_ROUTE}"`),
      );
    expect(Number(sum?.split(' ')[1])).toBeGreaterThanOrEqual(0.015);
    await app.close();
  });
});
