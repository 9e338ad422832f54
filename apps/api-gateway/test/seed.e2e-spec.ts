/**
 * The seed documentation's requests, replayed verbatim (method, headers, body) against the
 * booted platform, and its response shapes checked.
 */
import { Tenant, TestPlatform } from '@cap/testing';

let platform: TestPlatform;
let tenant: Tenant;
let API_KEY: string;
// Response bodies are checked field by field below.
const json = (res: Response): Promise<any> => res.json();

beforeAll(async () => {
  platform = await TestPlatform.start();
  tenant = await platform.tenant('seed');
  API_KEY = tenant.secret;
});

afterAll(async () => {
  await platform?.stop();
});

const ID = /^prj_[0-9A-Za-z]{20}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('the seed, verbatim', () => {
  it('GET /v1/projects with the seed headers returns {"data": [...]} of projects', async () => {
    // curl -X GET ".../v1/projects" -H "Authorization: Bearer $API_KEY" -H "Accept: application/json"
    const res = await fetch(`${platform.url()}/v1/projects`, {
      method: 'GET',
      headers: { Authorization: `Bearer ${API_KEY}`, Accept: 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = await json(res);
    expect(Array.isArray(body.data)).toBe(true);
    expect(body.data).toEqual([
      {
        id: tenant.project.id,
        name: 'seed-project',
        region: 'us-east',
        created_at: expect.stringMatching(TIME),
      },
    ]);
    for (const p of body.data) {
      expect(p).toEqual(
        expect.objectContaining({
          id: expect.stringMatching(ID),
          name: expect.any(String),
          region: expect.any(String),
        }),
      );
    }
  });

  it('GET /v1/projects with the authentication section headers (Content-Type on a GET) works', async () => {
    const res = await fetch(`${platform.url()}/v1/projects`, {
      method: 'GET',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect((await json(res)).data).toHaveLength(1);
  });

  it('POST /v1/projects with the seed body returns 201 and the new project', async () => {
    // curl -X POST ".../v1/projects" -H "Authorization: Bearer $API_KEY"
    //   -H "Content-Type: application/json" -d '{"name": "edge-ingest", "region": "us-east"}'
    const res = await fetch(`${platform.url()}/v1/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: '{"name": "edge-ingest", "region": "us-east"}',
    });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(Object.keys(body).sort()).toEqual(['created_at', 'id', 'name', 'region']);
    expect(body).toEqual({
      id: expect.stringMatching(ID),
      name: 'edge-ingest',
      region: 'us-east',
      created_at: expect.stringMatching(TIME),
    });
    expect(Math.abs(Date.parse(body.created_at) - Date.now())).toBeLessThan(60_000);

    // …and the list now shows it, newest first.
    const list = await fetch(`${platform.url()}/v1/projects`, {
      headers: { Authorization: `Bearer ${API_KEY}`, Accept: 'application/json' },
    }).then(json);
    expect(list.data.map((p: { id: string }) => p.id)).toEqual([body.id, tenant.project.id]);
  });

  it('the seed region eu-central exists, and GET /v1/regions lists the catalogue', async () => {
    const res = await fetch(`${platform.url()}/v1/regions`, {
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    expect(res.status).toBe(200);
    const ids = (await json(res)).data.map((r: { id: string }) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['us-east', 'eu-central']));
    const created = await fetch(`${platform.url()}/v1/projects`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
      body: '{"name": "analytics", "region": "eu-central"}',
    });
    expect(created.status).toBe(201);
  });
});

describe('keys through the whole chain', () => {
  it('issues a key (secret once), lists it redacted, revokes it', async () => {
    const auth = { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' };
    const created = await fetch(`${platform.url()}/v1/keys`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ project_id: tenant.project.id, name: 'ci' }),
    });
    expect(created.status).toBe(201);
    const key = await json(created);
    expect(key.secret).toMatch(/^sk_live_[0-9A-Za-z]{38}$/);
    expect(key.redacted).toBe(`sk_live_…${key.secret.slice(-4)}`);
    expect(key.id).toMatch(/^key_/);

    // The new key works at once.
    const withNew = await fetch(`${platform.url()}/v1/projects`, {
      headers: { Authorization: `Bearer ${key.secret}` },
    });
    expect(withNew.status).toBe(200);

    const listed = await fetch(`${platform.url()}/v1/keys?project_id=${tenant.project.id}`, {
      headers: auth,
    }).then(json);
    expect(listed.has_more).toBe(false);
    expect(listed.data.map((k: { id: string }) => k.id)).toEqual([key.id, tenant.key.id]);
    expect(JSON.stringify(listed)).not.toContain(key.secret);
    expect(listed.data[0]).not.toHaveProperty('secret');

    const page = await fetch(`${platform.url()}/v1/keys?project_id=${tenant.project.id}&limit=1`, {
      headers: auth,
    }).then(json);
    expect(page).toEqual({ data: [expect.objectContaining({ id: key.id })], has_more: true });
    const next = await fetch(
      `${platform.url()}/v1/keys?project_id=${tenant.project.id}&limit=1&starting_after=${key.id}`,
      { headers: auth },
    ).then(json);
    expect(next).toEqual({
      data: [expect.objectContaining({ id: tenant.key.id })],
      has_more: false,
    });

    const revoked = await fetch(`${platform.url()}/v1/keys/${key.id}/revoke`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    expect(revoked.status).toBe(200);
    expect((await json(revoked)).revoked_at).toMatch(TIME);

    const withRevoked = await fetch(`${platform.url()}/v1/projects`, {
      headers: { Authorization: `Bearer ${key.secret}` },
    });
    expect(withRevoked.status).toBe(401);
  });

  it('never stores the secret in the database', async () => {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: platform.db.url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT * FROM api_keys');
      expect(rows.length).toBeGreaterThan(0);
      expect(JSON.stringify(rows)).not.toContain(API_KEY);
      expect(JSON.stringify(rows)).not.toContain(API_KEY.slice(8, 30));
    } finally {
      await client.end();
    }
  });
});
