/**
 * The baseline: bare Fastify answering GET /v1/regions with the same JSON bytes the platform
 * returns, and nothing else (no auth, no rate limit, no metering, no logging).
 */
import Fastify from 'fastify';
import { serve } from './serve';

const body = process.env.BENCH_BODY ?? '{}';
const app = Fastify({ logger: false });
app.get('/v1/regions', (_req, reply) => {
  void reply.header('content-type', 'application/json; charset=utf-8').send(body);
});
serve(app);
