/**
 * Issue 10, item 5: the idempotency store keeps whole responses for 24 h, and the responses of
 * `POST /v1/keys`, `/v1/keys/{id}/rotate` and `POST /v1/oauth/clients` hold a secret shown once.
 * Nobody who can read Redis may read those secrets, while a client retrying after a lost response
 * still gets its secret, once, byte for byte.
 */
import { randomUUID } from 'node:crypto';
import { apiRequest, ApiResponse, dumpRedisPrefix, Tenant, TestPlatform } from '@cap/testing';

let platform: TestPlatform;
let alice: Tenant;

beforeAll(async () => {
  platform = await TestPlatform.start();
  alice = await platform.tenant('alice');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

function post(path: string, body: unknown, idempotencyKey: string): Promise<ApiResponse> {
  return apiRequest(platform.url(), 'POST', path, {
    token: alice.secret,
    body,
    headers: { 'Idempotency-Key': idempotencyKey },
  });
}

/** Every form a secret could be stored in that a Redis reader would recognise. */
function forms(secret: string): string[] {
  return [secret, secret.slice(8), Buffer.from(secret).toString('base64')];
}

describe('security: no secret is readable in Redis after idempotent POSTs', () => {
  it('keys created and rotated, and a client registered: replays return each secret, Redis holds none', async () => {
    const calls: Array<[string, unknown, string]> = [];
    const created = await post(
      '/v1/keys',
      { project_id: alice.project.id, name: 'ci' },
      // A guessable key: the gateway's secret still protects the stored response.
      '1',
    );
    expect(created.status).toBe(201);
    calls.push(['/v1/keys', { project_id: alice.project.id, name: 'ci' }, '1']);

    const rotateKey = randomUUID();
    const rotated = await post(
      `/v1/keys/${created.json.id}/rotate`,
      { grace_period_seconds: 60 },
      rotateKey,
    );
    expect(rotated.status).toBe(200);
    calls.push([`/v1/keys/${created.json.id}/rotate`, { grace_period_seconds: 60 }, rotateKey]);

    const clientKey = randomUUID();
    const clientBody = { name: 'app', redirect_uris: ['https://app.example.com/callback'] };
    const client = await post('/v1/oauth/clients', clientBody, clientKey);
    expect(client.status).toBe(201);
    calls.push(['/v1/oauth/clients', clientBody, clientKey]);

    const secrets = [created.json.secret, rotated.json.secret, client.json.client_secret];
    for (const s of secrets) expect(typeof s).toBe('string');

    // A retry after a lost response gets the same secret, byte for byte.
    const originals = [created, rotated, client];
    for (const [i, [path, body, key]] of calls.entries()) {
      const replay = await post(path, body, key);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.text).toBe(originals[i].text);
    }

    const dump = (await dumpRedisPrefix(platform.env.QUEUE_PREFIX)).join('\n');
    // The records are there (so the scan would have seen them) ...
    expect(dump).toMatch(/:idem:\{/);
    // ... and neither the secrets nor the client's Idempotency-Keys are.
    for (const secret of secrets) {
      for (const form of forms(secret)) expect(dump).not.toContain(form);
    }
    for (const key of [rotateKey, clientKey]) expect(dump).not.toContain(key);
  });

  it('a stored response opens only with its own Idempotency-Key', async () => {
    const key = randomUUID();
    const first = await post('/v1/keys', { project_id: alice.project.id, name: 'k' }, key);
    expect(first.status).toBe(201);
    // Another key (another record) runs anew: it never sees the first one's secret.
    const other = await post('/v1/keys', { project_id: alice.project.id, name: 'k' }, `${key}x`);
    expect(other.status).toBe(201);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
    expect(other.json.secret).not.toBe(first.json.secret);
  });
});
