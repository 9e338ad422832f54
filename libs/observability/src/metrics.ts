import { Controller, DynamicModule, Get, Global, Header, Module } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler } from 'fastify';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Registry,
} from 'prom-client';

/** Seconds: from a fast in-memory answer to a slow queue round trip. */
const HTTP_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/** The route label of requests no route matched (one series, whatever the path). */
export const UNMATCHED_ROUTE = '(unmatched)';

type Configuration<T> = Omit<T, 'registers'>;

/**
 * One app's Prometheus metrics, served at `/metrics`: Node's process metrics, every HTTP
 * request by route template and status, and whatever the app adds with `counter`, `gauge` and
 * `histogram`. Every series carries the app's name as `app`.
 *
 * A registry per app (not prom-client's global one), so two apps in one process — tests — keep
 * their series apart.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** A recorder per method and route, made on first use. */
  private readonly recorders = new Map<string, (status: number, s: number) => void>();

  constructor(app: string) {
    this.registry.setDefaultLabels({ app });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = this.histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from a request arriving to its response being written, by route template and status.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_BUCKETS,
    });
  }

  // Each returns the metric already registered under that name, if any: two instances of one
  // component (two queue servers) share their series instead of failing to register.

  counter<L extends string>(config: Configuration<CounterConfiguration<L>>): Counter<L> {
    return this.existing(config.name) ?? new Counter({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Configuration<GaugeConfiguration<L>>): Gauge<L> {
    return this.existing(config.name) ?? new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Configuration<HistogramConfiguration<L>>): Histogram<L> {
    return this.existing(config.name) ?? new Histogram({ ...config, registers: [this.registry] });
  }

  private existing<M>(name: string): M | undefined {
    return this.registry.getSingleMetric(name) as M | undefined;
  }

  /**
   * Records one route's requests. The series of each status is bound on its first use, so a
   * request costs one small-map lookup and one observation, with no label hashing.
   */
  httpRoute(method: string, route: string): (statusCode: number, seconds: number) => void {
    const byStatus = new Map<number, ReturnType<typeof this.httpDuration.labels>>();
    return (statusCode, seconds) => {
      let series = byStatus.get(statusCode);
      if (!series) {
        series = this.httpDuration.labels(method, route, String(statusCode));
        byStatus.set(statusCode, series);
      }
      series.observe(seconds);
    };
  }

  /**
   * Observes every route of `fastify` as it is registered, with a hook bound to each, so
   * nothing is looked up per request. Call before the routes are registered (before Nest's
   * `init`); requests no route matched are `unmatched`'s.
   */
  observeRoutes(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      // One route for several methods (`all()`) gives each method its own series.
      const bound = Array.isArray(route.method)
        ? undefined
        : this.recorder(route.url, String(route.method));
      const observe: onResponseHookHandler = (req, reply, done) => {
        const record = bound ?? this.recorder(route.url, req.method);
        record(reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = [...hookList(route.onResponse), observe];
    });
  }

  /** The recorder of a route and method, made on first use. */
  private recorder(route: string, method: string): (statusCode: number, seconds: number) => void {
    const key = `${method} ${route}`;
    let record = this.recorders.get(key);
    if (!record) {
      record = this.httpRoute(method, route);
      this.recorders.set(key, record);
    }
    return record;
  }

  /**
   * Observes a request no route matched (the not-found handler is not a route), once answered.
   * Timed here: Fastify keeps no start time for the not-found handler unless it has hooks.
   */
  unmatched(req: FastifyRequest, reply: FastifyReply): void {
    const record = this.recorder(UNMATCHED_ROUTE, req.method);
    const started = performance.now();
    reply.raw.once('finish', () => record(reply.statusCode, (performance.now() - started) / 1000));
  }
}

/** A route option's hooks (none, one or several) as a list, to add one of one's own. */
export function hookList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
/** `GET /metrics` in Prometheus' text format. Not under `/v1`: the ingress does not route it. */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get('metrics')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/**
 * The app's `Metrics`, injectable everywhere (a global module), and `/metrics`. `createHttpApp`
 * imports it beside the app's own module.
 */
@Global()
@Module({})
export class MetricsModule {
  static forApp(metrics: Metrics): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [{ provide: Metrics, useValue: metrics }],
      exports: [Metrics],
    };
  }
}
