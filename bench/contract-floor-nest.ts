/**
 * A baseline: the contract floor (`contract-floor.ts`) with its route served by a Nest
 * controller on `@nestjs/platform-fastify`, the hooks attached per route as the gateway attaches
 * its own. Nothing else of the platform: what this loses against `contract-floor-server.ts` is
 * what Nest's controller model itself costs a request (its global hooks, the route's promise
 * chain, the response controller), a cost the platform's data plane pays too.
 */
import 'reflect-metadata';
import { Controller, Get, Header, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { floorOnRequest, floorOnResponse, floorRequestId } from './contract-floor';

const body = process.env.BENCH_BODY ?? '{}';

@Controller('v1/regions')
class RegionsController {
  @Get()
  @Header('Content-Type', 'application/json; charset=utf-8')
  list(): string {
    return body;
  }
}

@Module({ controllers: [RegionsController] })
class FloorModule {}

async function main(): Promise<void> {
  const adapter = new FastifyAdapter({ genReqId: floorRequestId });
  const fastify = adapter.getInstance();
  fastify.decorateRequest('caller', null);
  fastify.addHook('onRoute', (route) => {
    if (route.url !== '/v1/regions') return;
    route.onRequest = floorOnRequest;
    route.onResponse = floorOnResponse;
  });
  const app = await NestFactory.create<NestFastifyApplication>(FloorModule, adapter, {
    logger: false,
    abortOnError: false,
  });
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.stdout.write(`${await app.getUrl()}\n`);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
