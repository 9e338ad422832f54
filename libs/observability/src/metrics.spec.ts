import { Metrics } from './metrics';

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
});
