/**
 * The JS SDK's retry policy against a local faulty server (no platform behind it): what is
 * retried, how often, with which Idempotency-Key, and that `Retry-After` is waited for.
 */
import {
  ApiConnectionError,
  CloudApi,
  ConflictError,
  IdempotencyError,
  InvalidRequestError,
  NotFoundError,
  parseRateLimit,
  parseRetryAfter,
  RateLimitError,
  RetryEvent,
  ServerError,
} from '../src/index';
import { errorAnswer, FaultyServer, Plan } from './faulty-server';

const project = { id: 'prj_1', name: 'edge-ingest', region: 'us-east', created_at: 'x' };
const ok: Plan = { status: 200, headers: { 'request-id': 'req_ok' }, body: project };
const page = (ids: string[], more: boolean): Plan => ({
  status: 200,
  body: { data: ids.map((id) => ({ ...project, id })), has_more: more },
});

let server: FaultyServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(
  plan: (n: number) => Plan,
  options: ConstructorParameters<typeof CloudApi>[0] = {},
) {
  server = await FaultyServer.start(plan);
  const retries: RetryEvent[] = [];
  const api = new CloudApi({
    apiKey: 'sk_test',
    baseUrl: server.url(),
    onRetry: (e) => retries.push(e),
    ...options,
  });
  return { api, server, retries };
}

describe('retries', () => {
  it('a dropped connection, then success: retried once', async () => {
    const { api, server } = await serve((n) => (n === 1 ? 'drop' : ok));
    await expect(api.projects.retrieve('prj_1')).resolves.toEqual(project);
    expect(server.seen).toHaveLength(2);
    expect(api.lastResponse).toMatchObject({ status: 200, requestId: 'req_ok', attempts: 2 });
  });

  it('503 twice, then success: the same POST three times with one Idempotency-Key', async () => {
    const { api, server, retries } = await serve((n) =>
      n <= 2 ? errorAnswer(503, 'service_unavailable') : { ...ok, status: 201 },
    );
    await expect(api.projects.create({ name: 'edge-ingest', region: 'us-east' })).resolves.toEqual(
      project,
    );
    expect(server.seen.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
    const keys = server.seen.map((r) => r.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);
    expect(server.seen.every((r) => r.body === '{"name":"edge-ingest","region":"us-east"}')).toBe(
      true,
    );
    expect(retries.map((r) => r.error.code)).toEqual([
      'service_unavailable',
      'service_unavailable',
    ]);
  });

  it('gives up after maxRetries (default 2) with the last error', async () => {
    const { api, server } = await serve(() => errorAnswer(500, 'internal_error'));
    const error = await api.regions.list().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({
      status: 500,
      code: 'internal_error',
      requestId: 'req_faulty500',
    });
    expect(server.seen).toHaveLength(3);
  });

  it('maxRetries: 0 sends once', async () => {
    const { api, server } = await serve(() => errorAnswer(503, 'upstream_timeout'), {
      maxRetries: 0,
    });
    await expect(api.user.retrieve()).rejects.toBeInstanceOf(ServerError);
    expect(server.seen).toHaveLength(1);
  });

  it.each([
    [400, 'invalid_request', InvalidRequestError],
    [404, 'project_not_found', NotFoundError],
    [409, 'conflict', ConflictError],
    [422, 'idempotency_key_reused', IdempotencyError],
  ])('never retries %i %s', async (status, code, Class) => {
    const { api, server } = await serve(() => errorAnswer(status, code));
    await expect(api.projects.create({ name: 'a', region: 'us-east' })).rejects.toBeInstanceOf(
      Class,
    );
    expect(server.seen).toHaveLength(1);
  });

  it('retries 409 idempotency_key_in_use with the same key', async () => {
    const { api, server } = await serve((n) =>
      n === 1 ? errorAnswer(409, 'idempotency_key_in_use', { 'retry-after': '0' }) : ok,
    );
    await api.keys.revoke('key_1', { idempotencyKey: 'my-own-key' });
    expect(server.seen.map((r) => r.headers['idempotency-key'])).toEqual([
      'my-own-key',
      'my-own-key',
    ]);
  });

  it('a 429 waits for Retry-After before the retry', async () => {
    const { api, server, retries } = await serve((n) =>
      n === 1 ? errorAnswer(429, 'rate_limited', { 'retry-after': '1' }) : ok,
    );
    const started = Date.now();
    await api.projects.retrieve('prj_1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(retries).toEqual([expect.objectContaining({ attempt: 1, delayMs: 1000 })]);
    expect(retries[0].error).toBeInstanceOf(RateLimitError);
    expect(server.seen).toHaveLength(2);
  });

  it('does not wait past the overall timeout: a long Retry-After is thrown at once', async () => {
    const { api, server } = await serve(
      () => errorAnswer(429, 'rate_limited', { 'retry-after': '30' }),
      { totalTimeoutMs: 5_000 },
    );
    await expect(api.projects.retrieve('prj_1')).rejects.toMatchObject({
      status: 429,
      retryAfter: 30,
    });
    expect(server.seen).toHaveLength(1);
  });

  it('an attempt that times out is retried', async () => {
    const { api, server } = await serve((n) => (n === 1 ? 'hang' : ok), { timeoutMs: 300 });
    await expect(api.projects.retrieve('prj_1')).resolves.toEqual(project);
    expect(server.seen).toHaveLength(2);
  });

  it('no answer at all: ApiConnectionError after the retries', async () => {
    const { api, server } = await serve(() => 'drop');
    await expect(api.projects.retrieve('prj_1')).rejects.toMatchObject({
      constructor: ApiConnectionError,
      status: 0,
      code: 'connection_error',
    });
    expect(server.seen).toHaveLength(3);
  });
});

describe('requests', () => {
  it('sends the credential, JSON, path parameters encoded; no body on GET', async () => {
    const { api, server } = await serve(() => ok);
    await api.members.remove('prj_1', 'usr_2');
    await api.keys.list({ project_id: 'prj_1', limit: 5 });
    expect(server.seen[0]).toMatchObject({
      method: 'DELETE',
      url: '/v1/projects/prj_1/members/usr_2',
    });
    expect(server.seen[0].headers.authorization).toBe('Bearer sk_test');
    expect(server.seen[0].headers['idempotency-key']).toBeUndefined();
    expect(server.seen[1]).toMatchObject({ url: '/v1/keys?project_id=prj_1&limit=5', body: '' });
    await expect(api.projects.retrieve('')).rejects.toThrow(TypeError);
    expect(server.seen).toHaveLength(2);
  });

  it('changes a role with PATCH and a JSON body, no Idempotency-Key', async () => {
    const { api, server } = await serve(() => ok);
    await api.members.update('prj_1', 'usr_2', { role: 'admin' });
    expect(server.seen[0]).toMatchObject({
      method: 'PATCH',
      url: '/v1/projects/prj_1/members/usr_2',
      body: '{"role":"admin"}',
    });
    expect(server.seen[0].headers['content-type']).toMatch(/^application\/json/);
    expect(server.seen[0].headers['idempotency-key']).toBeUndefined();
  });

  it('for await walks every page with starting_after; await gives the first page', async () => {
    const { api, server } = await serve((n) =>
      n === 1
        ? page(['prj_a', 'prj_b'], true)
        : n === 2
          ? page(['prj_c'], true)
          : n === 3
            ? page([], false)
            : page(['prj_d'], false),
    );
    const ids: string[] = [];
    for await (const p of api.projects.list({ limit: 2 })) ids.push(p.id);
    expect(ids).toEqual(['prj_a', 'prj_b', 'prj_c']);
    expect(server.seen.map((r) => r.url)).toEqual([
      '/v1/projects?limit=2',
      '/v1/projects?limit=2&starting_after=prj_b',
      '/v1/projects?limit=2&starting_after=prj_c',
    ]);
    const first = await api.projects.list({ limit: 2 });
    expect(first).toEqual({ data: [expect.objectContaining({ id: 'prj_d' })], has_more: false });
  });
});

describe('rate-limit headers', () => {
  const headers = (h: Record<string, string>) => new Headers(h);

  it('prefers X-RateLimit-* (reset a Unix time)', () => {
    expect(
      parseRateLimit(
        headers({
          'x-ratelimit-limit': '600',
          'x-ratelimit-remaining': '599',
          'x-ratelimit-reset': '1790000042',
          'ratelimit-policy': '"default";q=500;w=60',
          ratelimit: '"default";r=1;t=9',
        }),
        1_790_000_000,
      ),
    ).toEqual({ limit: 600, remaining: 599, reset: 1_790_000_042, window: 60 });
  });

  it('reads the IETF draft-10 structured fields alone', () => {
    expect(
      parseRateLimit(
        headers({ 'ratelimit-policy': '"default";q=600;w=60', ratelimit: '"default";r=599;t=42' }),
        1_790_000_000,
      ),
    ).toEqual({ limit: 600, remaining: 599, reset: 1_790_000_042, window: 60 });
  });

  it('reads the older RateLimit-Limit/-Remaining/-Reset and `600;w=60` policy', () => {
    expect(
      parseRateLimit(
        headers({
          'ratelimit-limit': '600',
          'ratelimit-remaining': '7',
          'ratelimit-reset': '12',
          'ratelimit-policy': '600;w=60',
        }),
        1_790_000_000,
      ),
    ).toEqual({ limit: 600, remaining: 7, reset: 1_790_000_012, window: 60 });
    expect(parseRateLimit(headers({}))).toBeUndefined();
  });

  it('Retry-After in seconds or as an HTTP date', () => {
    expect(parseRetryAfter('3')).toBe(3);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.UTC(2026, 0, 1))).toBe(10);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
