/**
 * A baseline: bare Fastify doing the least the public contract asks of an authenticated,
 * rate-limited, metered `GET /v1/regions` (`contract-floor.ts`).
 */
import Fastify from 'fastify';
import { floorOnRequest, floorOnResponse, floorRequestId } from './contract-floor';
import { serve } from './serve';

const body = process.env.BENCH_BODY ?? '{}';

const app = Fastify({ logger: false, genReqId: floorRequestId });
app.decorateRequest('caller', null);

app.get(
  '/v1/regions',
  { onRequest: floorOnRequest, onResponse: floorOnResponse },
  (_req, reply) => {
    void reply.header('content-type', 'application/json; charset=utf-8').send(body);
  },
);

serve(app);
