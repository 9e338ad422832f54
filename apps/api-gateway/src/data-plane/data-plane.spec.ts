/**
 * The data plane is attached to routes as Nest registers them: a `/v1` route that no controller
 * declares must stop the app rather than be served without authentication.
 */
import Fastify, { FastifyInstance } from 'fastify';
import { HttpAdapterHost } from '@nestjs/core';
import type { ApiRoute } from '../routes';
import { DataPlane } from './data-plane';

function withAccess(routes: Partial<ApiRoute>[]): FastifyInstance {
  const fastify = Fastify();
  const host = { httpAdapter: { getInstance: () => fastify } } as unknown as HttpAdapterHost;
  const unused = {} as never;
  new DataPlane(host, routes as ApiRoute[], unused, unused, unused, unused);
  return fastify;
}

async function registered(fastify: FastifyInstance, register: () => void): Promise<unknown> {
  try {
    register();
    await fastify.ready();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await fastify.close();
  }
}

describe('DataPlane', () => {
  it('refuses to serve a /v1 route no controller declares', async () => {
    const fastify = withAccess([
      { method: 'GET', path: '/v1/declared', public: false, scopes: [] },
    ]);
    const err = await registered(fastify, () => fastify.get('/v1/undeclared', () => 'open'));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch('GET /v1/undeclared is served but not declared');
  });

  it('refuses a declared path served with another method', async () => {
    const fastify = withAccess([{ method: 'GET', path: '/v1/things', public: false, scopes: [] }]);
    const err = await registered(fastify, () => fastify.delete('/v1/things', () => 'gone'));
    expect((err as Error).message).toMatch('DELETE /v1/things is served but not declared');
  });

  it('leaves routes outside /v1 (health) alone and serves declared ones', async () => {
    const fastify = withAccess([{ method: 'GET', path: '/v1/open', public: true, scopes: [] }]);
    fastify.get('/healthz', () => ({ status: 'ok' }));
    fastify.get('/v1/open', () => ({ open: true }));
    await fastify.ready();
    expect((await fastify.inject({ url: '/healthz' })).statusCode).toBe(200);
    const head = await fastify.inject({ method: 'HEAD', url: '/v1/open' });
    expect(head.statusCode).toBe(200);
    expect((await fastify.inject({ url: '/v1/open' })).json()).toEqual({ open: true });
    await fastify.close();
  });
});
