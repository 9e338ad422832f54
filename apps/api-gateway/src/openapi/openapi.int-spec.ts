/**
 * The OpenAPI document against the routes the gateway really serves (booted in-process on the
 * real Redis), and against `redocly lint`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp, createLogger, Metrics } from '@cap/observability';
import { cleanRedisPrefix, REPO_ROOT, TEST_ENV, testQueuePrefix } from '@cap/testing';
import { AppModule } from '../app.module';
import { gatewayEnv } from '../config';
import { OPENAPI_DOCUMENT } from './openapi.builder';

const prefix = testQueuePrefix();
let app: NestFastifyApplication;
const served = new Set<string>();
let doc: any;

beforeAll(async () => {
  const config = gatewayEnv.parse({ REDIS_URL: TEST_ENV.redisUrl, QUEUE_PREFIX: prefix });
  const logger = createLogger('api-gateway', 'silent');
  app = await createHttpApp(AppModule.forRoot(config, logger), logger, new Metrics('api-gateway'));
  // Routes are registered by init(): record every one Fastify gets.
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      for (const m of methods) {
        if (m !== 'HEAD' && route.url.startsWith('/v1/')) served.add(`${m} ${route.url}`);
      }
    });
  await app.init();
  doc = app.get(OPENAPI_DOCUMENT);
}, 60_000);

afterAll(async () => {
  await app?.close();
  await cleanRedisPrefix(prefix);
});

function documented(): Set<string> {
  const out = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
    for (const method of Object.keys(ops)) {
      out.add(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('documents exactly the routes the gateway serves', () => {
    expect(served.size).toBeGreaterThanOrEqual(20);
    const docs = documented();
    expect([...served].filter((r) => !docs.has(r))).toEqual([]);
    expect([...docs].filter((r) => !served.has(r))).toEqual([]);
  });

  it('covers the public contract of DESIGN.md', () => {
    const docs = documented();
    for (const route of [
      'GET /v1/projects',
      'POST /v1/projects',
      'GET /v1/projects/:id',
      'PATCH /v1/projects/:id',
      'DELETE /v1/projects/:id',
      'GET /v1/projects/:id/members',
      'POST /v1/projects/:id/members',
      'DELETE /v1/projects/:id/members/:user_id',
      'PATCH /v1/projects/:id/members/:user_id',
      'GET /v1/projects/:id/invitations',
      'DELETE /v1/projects/:id/invitations/:invitation_id',
      'GET /v1/invitations',
      'POST /v1/invitations/:id/accept',
      'POST /v1/keys',
      'GET /v1/keys',
      'POST /v1/keys/:id/revoke',
      'POST /v1/keys/:id/rotate',
      'GET /v1/usage',
      'GET /v1/user',
      'GET /v1/regions',
      'GET /v1/support/tickets',
      'POST /v1/support/tickets',
      'GET /v1/oauth/clients',
      'POST /v1/oauth/clients',
      'GET /v1/openapi.json',
    ]) {
      expect(docs).toContain(route);
    }
  });

  it('carries the seed examples', () => {
    const list = doc.paths['/v1/projects'].get.responses['200'].content['application/json'];
    // The seed's list response, as a subset of the documented example.
    expect(list.example).toMatchObject({
      data: [
        { id: 'prj_123', name: 'edge-ingest', region: 'us-east' },
        { id: 'prj_456', name: 'analytics', region: 'eu-central' },
      ],
    });
    const create = doc.paths['/v1/projects'].post;
    expect(create.requestBody.content['application/json'].example).toEqual({
      name: 'edge-ingest',
      region: 'us-east',
    });
    expect(create.responses['201'].content['application/json'].example).toEqual({
      id: 'prj_789',
      name: 'edge-ingest',
      region: 'us-east',
      created_at: '2026-03-06T12:00:00Z',
    });
  });

  it('lists every error code a route can answer, and every parameter', () => {
    const keys = doc.paths['/v1/keys'];
    expect(keys.post.responses['404'].description).toContain('project_not_found');
    expect(keys.post.responses['401'].description).toContain('unauthenticated');
    expect(keys.post.responses['429']).toBeDefined();
    expect(keys.post.responses['422'].description).toContain('idempotency_key_reused');
    expect(keys.get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['project_id', 'limit', 'starting_after']),
    );
    const usage = doc.paths['/v1/usage'].get;
    expect(usage.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['project_id', 'start', 'end', 'granularity', 'group_by']),
    );
    expect(doc.paths['/v1/openapi.json'].get.security).toEqual([]);
  });

  it('passes redocly lint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'openapi-'));
    try {
      const file = join(dir, 'openapi.json');
      await writeFile(file, JSON.stringify(doc));
      const run = promisify(execFile);
      const bin = join(REPO_ROOT, 'node_modules/.bin/redocly');
      const { stdout, stderr } = await run(
        bin,
        ['lint', file, '--format=stylish', '--config', join(REPO_ROOT, 'redocly.yaml')],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      ).catch((err: { stdout: string; stderr: string }) => {
        throw new Error(`redocly lint failed:\n${err.stdout}\n${err.stderr}`);
      });
      expect(`${stdout}${stderr}`).toMatch(/valid/i);
      expect(`${stdout}${stderr}`).not.toMatch(/You have \d+ (warning|error)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
