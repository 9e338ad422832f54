/**
 * The baseline: bare Fastify answering GET /v1/regions with the same JSON bytes the platform
 * returns, and nothing else (no auth, no rate limit, no metering, no logging).
 */
import Fastify from 'fastify';

const body = process.env.BENCH_BODY ?? '{}';
const app = Fastify({ logger: false });
app.get('/v1/regions', (_req, reply) => {
  void reply.header('content-type', 'application/json; charset=utf-8').send(body);
});
app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' }).then(
  (address) => process.stdout.write(`${address}\n`),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
