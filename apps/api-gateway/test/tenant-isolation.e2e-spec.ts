/**
 * Tenant isolation, generated from the route table: every operation of the gateway's own
 * OpenAPI document (GET /v1/openapi.json) is tried by a second user, with their API key and with
 * an OAuth access token (authorization code + PKCE through the auth-server, every scope), on the
 * first user's resources. Each attempt must be 404 — never 403, never 2xx — and leave the
 * database exactly as it was; lists must never show the first user's data. Then the second user
 * joins the first's project as a viewer, then as a developer, and every action on the project
 * and its keys gets what projects-service's role table (roles.ts) says: 403 and no change where
 * the role may not, success where it may. A route added to the API without a case here fails
 * the coverage test.
 */
import { MemberRole, SCOPES } from '@cap/contracts';
import {
  adminWithRetry,
  apiRequest,
  ApiResponse,
  clientSecretBasic,
  DbSnapshotter,
  errorEnvelopeProblems,
  eventually,
  loadRoleTable,
  oauthAccessToken,
  roleMay,
  RoleTable,
  snapshotDiff,
  Tenant,
  TENANT_PASSWORD,
  TestPlatform,
} from '@cap/testing';

interface User {
  id: string;
  email: string;
}

let platform: TestPlatform;
let db: DbSnapshotter;
let doc: any;
let roles: RoleTable;
/** The first user (owner of everything probed) and the second (the prober). */
let A: Tenant;
let B: Tenant;
/** A developer of A's project, and a user who belongs to no project of A's. */
let carol: User;
let dave: User;
let bToken: string;
let bTokenScope: string;
let bIdToken: string | undefined;
let aTicket: { id: string };
let aClient: { id: string };
/** A pending invitation to A's project, for an address with no account. */
let aInvitation: { id: string };
let aRequestId: string;
let bRequestId: string;
const since = new Date(Date.now() - 10 * 60_000).toISOString();
const until = () => new Date(Date.now() + 10 * 60_000).toISOString();

/** Every identifier of A's world that B must never be shown. */
const aIdentifiers = () => [
  A.project.id,
  A.key.id,
  A.user.id,
  A.email,
  aTicket.id,
  aClient.id,
  aInvitation.id,
  aRequestId,
  carol.id,
  carol.email,
];

beforeAll(async () => {
  platform = await TestPlatform.start(
    ['projects-service', 'auth-server', 'usage-worker', 'api-gateway'],
    // This file sends hundreds of dead credentials from one address on purpose.
    { USAGE_FLUSH_MS: '200', AUTH_FAILURES_PER_MINUTE: '100000' },
  );
  db = await DbSnapshotter.connect(platform.db.url);
  roles = loadRoleTable();
  [A, B] = [await platform.tenant('alice'), await platform.tenant('bob')];
  const createUser = async (label: string): Promise<User> => {
    const email = `${label}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const user = await adminWithRetry<{ id: string }>(
      platform,
      ['create-user', '--email', email, '--name', label],
      `${TENANT_PASSWORD}\n`,
    );
    return { id: user.id, email };
  };
  carol = await createUser('carol');
  dave = await createUser('dave');

  // A's world: a member, a support ticket about one of A's requests, an OAuth client, usage.
  const asA = (method: string, path: string, body?: unknown) =>
    apiRequest(platform.url(), method, path, { token: A.secret, body });
  await platform.addMember(A.project.id, A.secret, carol.email, 'developer');
  const regions = await asA('GET', '/v1/regions');
  aRequestId = regions.headers.get('request-id')!;
  const ticket = await asA('POST', '/v1/support/tickets', {
    subject: 'A question',
    body: 'About this request.',
    request_ids: [aRequestId],
  });
  expect(ticket.status).toBe(201);
  aTicket = ticket.json;
  const client = await asA('POST', '/v1/oauth/clients', {
    name: 'Alice app',
    redirect_uris: ['https://alice.example.com/cb'],
  });
  expect(client.status).toBe(201);
  aClient = client.json;
  const invitation = await asA('POST', `/v1/projects/${A.project.id}/members`, {
    email: `erin-${Date.now()}@example.com`,
    role: 'admin',
  });
  expect(invitation.status).toBe(201);
  aInvitation = invitation.json;
  const usage = await eventually(async () => {
    const res = await asA(
      'GET',
      `/v1/usage?project_id=${A.project.id}&start=${since}&end=${until()}`,
    );
    return res.status === 200 && res.json.total_requests > 0;
  }, 20_000);
  expect(usage.ok).toBe(true);

  const grant = await oauthAccessToken(platform, B);
  bToken = grant.access_token;
  bTokenScope = grant.scope;
  bIdToken = grant.id_token;
  const own = await apiRequest(platform.url(), 'GET', '/v1/regions', { token: B.secret });
  bRequestId = own.headers.get('request-id')!;

  const res = await apiRequest(platform.url(), 'GET', '/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = res.json;
}, 180_000);

afterAll(async () => {
  await db?.close();
  await platform?.stop();
});

/** `GET /v1/projects/{id}` for every operation of the OpenAPI document. */
function documentedOperations(): string[] {
  const ops: string[] = [];
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const method of Object.keys(item)) {
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) {
        ops.push(`${method.toUpperCase()} ${path}`);
      }
    }
  }
  return ops;
}

/** The documented success status of an operation (its one 2xx response). */
function successStatus(op: string): number {
  const [method, path] = op.split(' ');
  const responses = Object.keys(doc.paths[path][method.toLowerCase()].responses);
  return Number(responses.find((s) => s.startsWith('2')));
}

interface Probe {
  label: string;
  method: string;
  path: string;
  body?: unknown;
}

const probe = (method: string, path: string, body?: unknown, label?: string): Probe => ({
  label: label ?? `${method} ${path.replace(/\?.*/, '?…')}`,
  method,
  path,
  body,
});

const usagePath = (project: string, extra = '') =>
  `/v1/usage?project_id=${project}&start=${since}&end=${until()}${extra}`;

/**
 * Operations that take an id of A's (path, `project_id` in query or body): each probe must be
 * 404 with one of `codes`.
 */
const FOREIGN: Record<string, { codes: string[]; probes: () => Probe[] }> = {
  'GET /v1/projects/{id}': {
    codes: ['project_not_found'],
    probes: () => [probe('GET', `/v1/projects/${A.project.id}`)],
  },
  'PATCH /v1/projects/{id}': {
    codes: ['project_not_found'],
    probes: () => [probe('PATCH', `/v1/projects/${A.project.id}`, { name: 'taken over' })],
  },
  'DELETE /v1/projects/{id}': {
    codes: ['project_not_found'],
    probes: () => [probe('DELETE', `/v1/projects/${A.project.id}`)],
  },
  'GET /v1/projects/{id}/members': {
    codes: ['project_not_found'],
    probes: () => [probe('GET', `/v1/projects/${A.project.id}/members`)],
  },
  'POST /v1/projects/{id}/members': {
    codes: ['project_not_found'],
    probes: () => [
      probe('POST', `/v1/projects/${A.project.id}/members`, { email: B.email, role: 'owner' }),
      probe('POST', `/v1/projects/${A.project.id}/members`, { email: dave.email, role: 'viewer' }),
    ],
  },
  'DELETE /v1/projects/{id}/members/{user_id}': {
    codes: ['project_not_found', 'not_found'],
    probes: () => [
      probe('DELETE', `/v1/projects/${A.project.id}/members/${A.user.id}`),
      probe('DELETE', `/v1/projects/${A.project.id}/members/${carol.id}`),
      probe('DELETE', `/v1/projects/${A.project.id}/members/${B.user.id}`),
      // A's user id on B's own project: A is no member there.
      probe('DELETE', `/v1/projects/${B.project.id}/members/${A.user.id}`),
    ],
  },
  'PATCH /v1/projects/{id}/members/{user_id}': {
    codes: ['project_not_found', 'not_found'],
    probes: () => [
      probe('PATCH', `/v1/projects/${A.project.id}/members/${A.user.id}`, { role: 'viewer' }),
      probe('PATCH', `/v1/projects/${A.project.id}/members/${carol.id}`, { role: 'owner' }),
      probe('PATCH', `/v1/projects/${A.project.id}/members/${B.user.id}`, { role: 'owner' }),
      // A's user id on B's own project: A is no member there.
      probe('PATCH', `/v1/projects/${B.project.id}/members/${A.user.id}`, { role: 'viewer' }),
    ],
  },
  'GET /v1/projects/{id}/invitations': {
    codes: ['project_not_found'],
    probes: () => [probe('GET', `/v1/projects/${A.project.id}/invitations`)],
  },
  'DELETE /v1/projects/{id}/invitations/{invitation_id}': {
    codes: ['project_not_found', 'not_found'],
    probes: () => [
      probe('DELETE', `/v1/projects/${A.project.id}/invitations/${aInvitation.id}`),
      // A's invitation id on B's own project: it is not one of B's.
      probe('DELETE', `/v1/projects/${B.project.id}/invitations/${aInvitation.id}`),
    ],
  },
  // Addressed to someone else: as if it did not exist.
  'POST /v1/invitations/{id}/accept': {
    codes: ['not_found'],
    probes: () => [probe('POST', `/v1/invitations/${aInvitation.id}/accept`)],
  },
  'POST /v1/keys': {
    codes: ['project_not_found'],
    probes: () => [
      probe('POST', '/v1/keys', { project_id: A.project.id, name: 'mine now' }),
      probe('POST', '/v1/keys', {
        project_id: A.project.id,
        name: 'read only',
        scopes: ['projects:read'],
      }),
    ],
  },
  'GET /v1/keys': {
    codes: ['project_not_found'],
    probes: () => [probe('GET', `/v1/keys?project_id=${A.project.id}`)],
  },
  'POST /v1/keys/{id}/revoke': {
    codes: ['key_not_found'],
    probes: () => [probe('POST', `/v1/keys/${A.key.id}/revoke`)],
  },
  'POST /v1/keys/{id}/rotate': {
    codes: ['key_not_found'],
    probes: () => [
      probe('POST', `/v1/keys/${A.key.id}/rotate`, { grace_period_seconds: 0 }),
      probe('POST', `/v1/keys/${A.key.id}/rotate`, {}),
    ],
  },
  'GET /v1/usage': {
    codes: ['project_not_found'],
    probes: () => [
      probe('GET', usagePath(A.project.id)),
      probe('GET', usagePath(A.project.id, '&group_by=key')),
    ],
  },
  'GET /v1/support/tickets/{id}': {
    codes: ['not_found'],
    probes: () => [probe('GET', `/v1/support/tickets/${aTicket.id}`)],
  },
};

/**
 * Lists, and operations on B's own things: 2xx, and nothing of A's in the answer. A cursor of
 * A's (`starting_after`) is refused with 400.
 */
const OWN: Record<string, { probes: () => Probe[]; cursors?: () => Probe[] }> = {
  'GET /v1/projects': {
    probes: () => [probe('GET', '/v1/projects?limit=100')],
    cursors: () => [probe('GET', `/v1/projects?starting_after=${A.project.id}`)],
  },
  'POST /v1/projects': {
    probes: () => [probe('POST', '/v1/projects', { name: 'b-second', region: 'eu-west' })],
  },
  'GET /v1/projects/{id}': { probes: () => [probe('GET', `/v1/projects/${B.project.id}`)] },
  'GET /v1/projects/{id}/members': {
    probes: () => [probe('GET', `/v1/projects/${B.project.id}/members`)],
    cursors: () => [
      probe('GET', `/v1/projects/${B.project.id}/members?starting_after=${A.user.id}`),
    ],
  },
  'GET /v1/projects/{id}/invitations': {
    probes: () => [probe('GET', `/v1/projects/${B.project.id}/invitations`)],
    cursors: () => [
      probe('GET', `/v1/projects/${B.project.id}/invitations?starting_after=${aInvitation.id}`),
    ],
  },
  'GET /v1/invitations': {
    probes: () => [probe('GET', '/v1/invitations?limit=100')],
    cursors: () => [probe('GET', `/v1/invitations?starting_after=${aInvitation.id}`)],
  },
  'GET /v1/keys': {
    probes: () => [probe('GET', `/v1/keys?project_id=${B.project.id}&limit=100`)],
    cursors: () => [probe('GET', `/v1/keys?project_id=${B.project.id}&starting_after=${A.key.id}`)],
  },
  'GET /v1/usage': {
    probes: () => [
      probe('GET', usagePath(B.project.id, '&group_by=key')),
      probe('GET', usagePath(B.project.id, '&group_by=endpoint')),
    ],
  },
  'GET /v1/user': { probes: () => [probe('GET', '/v1/user')] },
  'GET /v1/regions': { probes: () => [probe('GET', '/v1/regions')] },
  'GET /v1/support/tickets': {
    probes: () => [probe('GET', '/v1/support/tickets?limit=100')],
    cursors: () => [probe('GET', `/v1/support/tickets?starting_after=${aTicket.id}`)],
  },
  'POST /v1/support/tickets': {
    probes: () => [
      probe('POST', '/v1/support/tickets', {
        subject: 'B asks',
        body: 'About my own request.',
        request_ids: [bRequestId],
      }),
    ],
  },
  'GET /v1/oauth/clients': {
    probes: () => [probe('GET', '/v1/oauth/clients?limit=100')],
    cursors: () => [probe('GET', `/v1/oauth/clients?starting_after=${aClient.id}`)],
  },
  'POST /v1/oauth/clients': {
    probes: () => [
      probe('POST', '/v1/oauth/clients', {
        name: 'B app',
        redirect_uris: ['https://bob.example.com/cb'],
      }),
    ],
  },
  'GET /v1/openapi.json': { probes: () => [probe('GET', '/v1/openapi.json')] },
};

/** Ids of A's inside the request itself: echoing them back (a 404 message) is no leak. */
function leaks(p: Probe, res: ApiResponse): string[] {
  const sent = `${p.path} ${JSON.stringify(p.body ?? null)}`;
  return aIdentifiers().filter((id) => !sent.includes(id) && res.text.includes(id));
}

const CREDENTIALS: Array<[string, () => string]> = [
  ['API key', () => B.secret],
  ['OAuth access token', () => bToken],
];

describe('the route table', () => {
  it('every operation of the OpenAPI document has a case; no case is stale', () => {
    const documented = documentedOperations();
    expect(documented.length).toBeGreaterThanOrEqual(21);
    const covered = new Set([...Object.keys(FOREIGN), ...Object.keys(OWN)]);
    expect(documented.filter((op) => !covered.has(op))).toEqual([]);
    expect([...covered].filter((op) => !documented.includes(op))).toEqual([]);
    // Every operation that takes a project or key id (path or project_id) is probed with A's.
    const takesId = documented.filter((op) => {
      const [method, path] = op.split(' ');
      const operation = doc.paths[path][method.toLowerCase()];
      const params: Array<{ name?: string }> = operation.parameters ?? [];
      const body = operation.requestBody?.content?.['application/json']?.schema;
      return (
        path.includes('{') ||
        params.some((p) => p.name === 'project_id') ||
        JSON.stringify(body ?? {}).includes('"project_id"')
      );
    });
    expect(takesId.filter((op) => !FOREIGN[op])).toEqual([]);
  });

  it("B's token was granted openid (an ID token came with it) and every API scope", () => {
    // The access token is for the API (its audience): it lists the API's scopes; `openid` is
    // the client's, answered with the ID token.
    expect(bTokenScope.split(' ').sort()).toEqual([...SCOPES].sort());
    expect(bIdToken).toEqual(expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/));
  });
});

describe.each(CREDENTIALS)("B's %s on A's resources", (_label, credential) => {
  it('each operation on an id of A’s is 404 (never 403 or 2xx), changing nothing', async () => {
    const failures: string[] = [];
    let probes = 0;
    for (const op of documentedOperations()) {
      const foreign = FOREIGN[op];
      if (!foreign) continue;
      for (const p of foreign.probes()) {
        probes++;
        const before = await db.snapshot();
        const res = await apiRequest(platform.url(), p.method, p.path, {
          token: credential(),
          body: p.body,
        });
        const diff = snapshotDiff(before, await db.snapshot());
        const where = `${op} — ${p.method} ${p.path} ${JSON.stringify(p.body ?? '')}`;
        if (res.status !== 404 || !foreign.codes.includes(res.json?.error?.code)) {
          failures.push(
            `${where}: want 404 ${foreign.codes.join('|')}, got ${res.status} ${res.text}`,
          );
        }
        const problems = errorEnvelopeProblems(res);
        if (problems.length) failures.push(`${where}: ${problems.join('; ')}`);
        const leaked = leaks(p, res);
        if (leaked.length) failures.push(`${where}: leaks ${leaked.join(', ')}`);
        if (Object.keys(diff).length) {
          failures.push(`${where}: the database changed ${JSON.stringify(diff)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(probes).toBeGreaterThanOrEqual(Object.keys(FOREIGN).length);
  });

  it('lists and own operations are 2xx and show nothing of A’s; A’s cursors: 400', async () => {
    const failures: string[] = [];
    for (const op of documentedOperations()) {
      const own = OWN[op];
      if (!own) continue;
      for (const p of own.probes()) {
        const before = await db.snapshot();
        const res = await apiRequest(platform.url(), p.method, p.path, {
          token: credential(),
          body: p.body,
        });
        const diff = snapshotDiff(before, await db.snapshot());
        const where = `${op} — ${p.method} ${p.path}`;
        if (res.status !== successStatus(op)) {
          failures.push(`${where}: want ${successStatus(op)}, got ${res.status} ${res.text}`);
        }
        const leaked = leaks(p, res);
        if (leaked.length) failures.push(`${where}: shows A's ${leaked.join(', ')}`);
        // Only B's own rows may appear; none may disappear.
        for (const [table, change] of Object.entries(diff)) {
          if (change.removed.length) failures.push(`${where}: ${table} lost rows`);
          const touching = change.added.filter((row) =>
            aIdentifiers().some((i) => row.includes(i)),
          );
          if (touching.length)
            failures.push(`${where}: ${table} got A's rows ${touching.join(', ')}`);
        }
      }
      for (const p of own.cursors?.() ?? []) {
        const res = await apiRequest(platform.url(), p.method, p.path, { token: credential() });
        if (res.status !== 400 || res.json?.error?.param !== 'starting_after') {
          failures.push(
            `${op} — ${p.path}: want 400 starting_after, got ${res.status} ${res.text}`,
          );
        }
        if (leaks(p, res).length)
          failures.push(`${op} — ${p.path}: leaks ${leaks(p, res).join(', ')}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('the lists B sees hold exactly B’s own things', async () => {
    const get = async (path: string) =>
      (await apiRequest(platform.url(), 'GET', path, { token: credential() })).json;
    const projects = await get('/v1/projects?limit=100');
    expect(projects.data.map((p: { id: string }) => p.id)).toContain(B.project.id);
    expect(projects.data.map((p: { id: string }) => p.id)).not.toContain(A.project.id);
    const keys = await get(`/v1/keys?project_id=${B.project.id}&limit=100`);
    for (const k of keys.data) expect(k).toMatchObject({ project_id: B.project.id });
    const tickets = await get('/v1/support/tickets?limit=100');
    expect(tickets.data.map((t: { id: string }) => t.id)).not.toContain(aTicket.id);
    const clients = await get('/v1/oauth/clients?limit=100');
    expect(clients.data.map((c: { id: string }) => c.id)).not.toContain(aClient.id);
    expect(await get('/v1/user')).toMatchObject({ id: B.user.id, email: B.email });
  });

  it('a ticket about A’s request ids is 400 request_ids.0 and stores nothing', async () => {
    const before = await db.snapshot();
    const res = await apiRequest(platform.url(), 'POST', '/v1/support/tickets', {
      token: credential(),
      body: { subject: 'Whose?', body: 'Not mine.', request_ids: [aRequestId] },
    });
    expect({ status: res.status, error: res.json?.error }).toMatchObject({
      status: 400,
      error: { code: 'invalid_request', param: 'request_ids.0' },
    });
    expect(errorEnvelopeProblems(res)).toEqual([]);
    expect(snapshotDiff(before, await db.snapshot())).toEqual({});
  });
});

/**
 * What B asks of A's project and keys as a member with a role, with the role-table action that
 * decides it (`null`: any member may). Probes needing a key of B's own in A's project are
 * skipped when there is none (a role that cannot create keys).
 */
interface RoleProbe extends Probe {
  action: string | null;
  ownKey?: boolean;
}

/**
 * Not a role-table action: rotating someone else's key hands out their secret, so nobody but
 * the key's creator may, whatever their role (admins and owners revoke instead).
 */
const CREATOR_ONLY = 'rotate another member’s key';

/** Whether `role` may do what a role probe stands for. */
function probeAllowed(role: MemberRole, action: string | null): boolean {
  if (action === null) return true;
  if (action === CREATOR_ONLY) return false;
  return roleMay(roles, role, action);
}

function roleProbes(ownKey: () => string | undefined): Record<string, () => RoleProbe[]> {
  const p = A.project.id;
  const withAction = (action: string | null, pr: Probe, own = false): RoleProbe => ({
    ...pr,
    action,
    ownKey: own,
  });
  return {
    'GET /v1/projects/{id}': () => [withAction('project.read', probe('GET', `/v1/projects/${p}`))],
    'GET /v1/projects/{id}/members': () => [
      withAction('members.list', probe('GET', `/v1/projects/${p}/members`)),
    ],
    'GET /v1/keys': () => [withAction('keys.list', probe('GET', `/v1/keys?project_id=${p}`))],
    'GET /v1/usage': () => [withAction(null, probe('GET', usagePath(p)))],
    'PATCH /v1/projects/{id}': () => [
      withAction('project.rename', probe('PATCH', `/v1/projects/${p}`, { name: 'renamed by B' })),
    ],
    'POST /v1/projects/{id}/members': () => [
      withAction(
        'members.add',
        probe('POST', `/v1/projects/${p}/members`, { email: dave.email, role: 'viewer' }),
      ),
      withAction(
        'members.add_owner',
        probe('POST', `/v1/projects/${p}/members`, { email: dave.email, role: 'owner' }),
      ),
    ],
    'GET /v1/projects/{id}/invitations': () => [
      withAction('members.list', probe('GET', `/v1/projects/${p}/invitations`)),
    ],
    // Revoking an invitation is the inviter's business: owners and admins, as inviting.
    'DELETE /v1/projects/{id}/invitations/{invitation_id}': () => [
      withAction('members.add', probe('DELETE', `/v1/projects/${p}/invitations/${aInvitation.id}`)),
    ],
    'DELETE /v1/projects/{id}/members/{user_id}': () => [
      withAction('members.remove', probe('DELETE', `/v1/projects/${p}/members/${carol.id}`)),
      withAction('members.remove_owner', probe('DELETE', `/v1/projects/${p}/members/${A.user.id}`)),
    ],
    'PATCH /v1/projects/{id}/members/{user_id}': () => [
      withAction(
        'members.change_role',
        probe('PATCH', `/v1/projects/${p}/members/${carol.id}`, { role: 'viewer' }),
      ),
      // Promoting oneself follows the same rules.
      withAction(
        'members.change_role',
        probe('PATCH', `/v1/projects/${p}/members/${B.user.id}`, { role: 'admin' }),
      ),
      withAction(
        'members.change_owner_role',
        probe('PATCH', `/v1/projects/${p}/members/${carol.id}`, { role: 'owner' }),
      ),
      withAction(
        'members.change_owner_role',
        probe('PATCH', `/v1/projects/${p}/members/${A.user.id}`, { role: 'admin' }),
      ),
    ],
    'POST /v1/keys': () => [
      withAction('keys.create', probe('POST', '/v1/keys', { project_id: p, name: 'b in a' })),
    ],
    'POST /v1/keys/{id}/rotate': () => [
      withAction(CREATOR_ONLY, probe('POST', `/v1/keys/${A.key.id}/rotate`, {})),
      withAction(
        'keys.rotate_own',
        probe('POST', `/v1/keys/${ownKey()}/rotate`, { grace_period_seconds: 0 }),
        true,
      ),
    ],
    'POST /v1/keys/{id}/revoke': () => [
      withAction('keys.revoke_any', probe('POST', `/v1/keys/${A.key.id}/revoke`)),
      withAction('keys.revoke_own', probe('POST', `/v1/keys/${ownKey()}/revoke`), true),
    ],
    // Last: as a developer or viewer this is refused; were it allowed, nothing would be left.
    'DELETE /v1/projects/{id}': () => [
      withAction('project.delete', probe('DELETE', `/v1/projects/${p}`)),
    ],
  };
}

describe.each<MemberRole>(['viewer', 'developer'])(
  'B as a %s of A’s project: what the role table says',
  (role) => {
    const asA = (method: string, path: string, body?: unknown) =>
      apiRequest(platform.url(), method, path, { token: A.secret, body });

    beforeAll(async () => {
      // The way members join: A invites B's address, and B (verified) accepts.
      const res = await asA('POST', `/v1/projects/${A.project.id}/members`, {
        email: B.email,
        role,
      });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({ email: B.email, role, status: 'pending' });
      const accepted = await apiRequest(
        platform.url(),
        'POST',
        `/v1/invitations/${res.json.id}/accept`,
        { token: B.secret },
      );
      expect(accepted.status).toBe(200);
      expect(accepted.json).toMatchObject({ project_id: A.project.id, role, status: 'accepted' });
    });

    it('covers every operation on a project or key id', () => {
      const probes = roleProbes(() => 'key_x');
      // Tickets are the user's own; accepting is the invitee's (no role of A's project).
      const notProjectScoped = (op: string) =>
        op.includes('tickets') || op === 'POST /v1/invitations/{id}/accept';
      expect(Object.keys(FOREIGN).filter((op) => !probes[op] && !notProjectScoped(op))).toEqual([]);
    });

    it.each(CREDENTIALS)(
      'with the %s: reads succeed, writes per role, 403 changes nothing',
      async (_l, credential) => {
        let ownKey: string | undefined;
        const failures: string[] = [];
        const outcomes: string[] = [];
        for (const [op, make] of Object.entries(roleProbes(() => ownKey))) {
          for (const p of make()) {
            if (p.ownKey && !ownKey) {
              // Only a role that may create keys can hold one of its own in A's project.
              expect(roleMay(roles, role, 'keys.create')).toBe(false);
              continue;
            }
            const allowed = probeAllowed(role, p.action);
            const before = await db.snapshot();
            const res = await apiRequest(platform.url(), p.method, p.path, {
              token: credential(),
              body: p.body,
            });
            const diff = snapshotDiff(before, await db.snapshot());
            outcomes.push(`${p.action ?? 'any'}→${res.status}`);
            const where = `${role} ${p.action ?? '(member)'} — ${p.method} ${p.path}`;
            if (allowed) {
              if (res.status !== successStatus(op)) {
                failures.push(
                  `${where}: allowed, want ${successStatus(op)}, got ${res.status} ${res.text}`,
                );
              }
              if (p.action === 'keys.create' && res.status === 201) ownKey = res.json.id;
            } else {
              if (res.status !== 403 || res.json?.error?.code !== 'forbidden') {
                failures.push(`${where}: want 403 forbidden, got ${res.status} ${res.text}`);
              }
              if (Object.keys(diff).length) {
                failures.push(
                  `${where}: refused, yet the database changed ${JSON.stringify(diff)}`,
                );
              }
            }
            if (res.status >= 400 && errorEnvelopeProblems(res).length) {
              failures.push(`${where}: ${errorEnvelopeProblems(res).join('; ')}`);
            }
          }
        }
        expect(failures).toEqual([]);
        process.stdout.write(`B as ${role}: ${outcomes.join(' ')}\n`);
        // Members see the project in their list.
        const list = await apiRequest(platform.url(), 'GET', '/v1/projects?limit=100', {
          token: credential(),
        });
        expect(list.json.data.map((x: { id: string }) => x.id)).toContain(A.project.id);
      },
    );

    it('a member may leave (members.remove_self); then A’s project is 404 again', async () => {
      expect(roleMay(roles, role, 'members.remove_self')).toBe(true);
      const res = await apiRequest(
        platform.url(),
        'DELETE',
        `/v1/projects/${A.project.id}/members/${B.user.id}`,
        { token: bToken },
      );
      expect(res.status).toBe(200);
      for (const [, credential] of CREDENTIALS) {
        const after = await apiRequest(platform.url(), 'GET', `/v1/projects/${A.project.id}`, {
          token: credential(),
        });
        expect({ status: after.status, code: after.json?.error?.code }).toEqual({
          status: 404,
          code: 'project_not_found',
        });
      }
      // A's project, its owner and its other member are untouched.
      const members = await asA('GET', `/v1/projects/${A.project.id}/members`);
      expect(members.json.data.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
        [A.user.id, carol.id].sort(),
      );
      expect((await asA('GET', `/v1/projects/${A.project.id}`)).json.name).toBe('alice-project');
    });
  },
);

/**
 * A key of B's confined to B's project (`project_access: "own"`), on every route: B's other
 * project, its key and its members look absent (404, nothing changed), the project list holds
 * B's one project, and what only an unconfined credential may (creating projects, registering
 * OAuth clients) is 403. User-level reads stay allowed; it sees no invitations (they are to
 * other projects) and only the support tickets opened with keys confined to its project.
 */
describe('security: B’s project-confined key on every route', () => {
  let confined: string;
  let b2: { project: string; key: string };
  let bTicket: string;

  beforeAll(async () => {
    const asB = (method: string, path: string, body?: unknown) =>
      apiRequest(platform.url(), method, path, { token: B.secret, body });
    const project = await asB('POST', '/v1/projects', { name: 'b-other', region: 'us-east' });
    expect(project.status).toBe(201);
    const key = await asB('POST', '/v1/keys', { project_id: project.json.id, name: 'b2' });
    expect(key.status).toBe(201);
    b2 = { project: project.json.id, key: key.json.id };
    const own = await asB('POST', '/v1/keys', {
      project_id: B.project.id,
      name: 'ci',
      project_access: 'own',
    });
    expect(own.json).toMatchObject({ project_access: 'own' });
    confined = own.json.secret;
    const ticket = await asB('POST', '/v1/support/tickets', { subject: 'mine', body: 'Hello.' });
    bTicket = ticket.json.id;
  });

  type Want = { status: number; codes?: string[] };
  const absent = (codes = ['project_not_found']): Want => ({ status: 404, codes });
  const refused: Want = { status: 403, codes: ['forbidden'] };
  const ok = (op: string): Want => ({ status: successStatus(op) });

  const CONFINED: Record<string, (op: string) => { want: Want; probes: Probe[] }> = {
    'GET /v1/projects': (op) => ({ want: ok(op), probes: [probe('GET', '/v1/projects')] }),
    'POST /v1/projects': () => ({
      want: refused,
      probes: [probe('POST', '/v1/projects', { name: 'escape', region: 'us-east' })],
    }),
    'GET /v1/projects/{id}': () => ({
      want: absent(),
      probes: [probe('GET', `/v1/projects/${b2.project}`)],
    }),
    'PATCH /v1/projects/{id}': () => ({
      want: absent(),
      probes: [probe('PATCH', `/v1/projects/${b2.project}`, { name: 'x' })],
    }),
    'DELETE /v1/projects/{id}': () => ({
      want: absent(),
      probes: [probe('DELETE', `/v1/projects/${b2.project}`)],
    }),
    'GET /v1/projects/{id}/members': () => ({
      want: absent(),
      probes: [probe('GET', `/v1/projects/${b2.project}/members`)],
    }),
    'POST /v1/projects/{id}/members': () => ({
      want: absent(),
      probes: [
        probe('POST', `/v1/projects/${b2.project}/members`, { email: dave.email, role: 'owner' }),
      ],
    }),
    'DELETE /v1/projects/{id}/members/{user_id}': () => ({
      want: absent(),
      probes: [probe('DELETE', `/v1/projects/${b2.project}/members/${B.user.id}`)],
    }),
    'PATCH /v1/projects/{id}/members/{user_id}': () => ({
      want: absent(),
      probes: [
        probe('PATCH', `/v1/projects/${b2.project}/members/${B.user.id}`, { role: 'admin' }),
      ],
    }),
    'GET /v1/projects/{id}/invitations': () => ({
      want: absent(),
      probes: [probe('GET', `/v1/projects/${b2.project}/invitations`)],
    }),
    'DELETE /v1/projects/{id}/invitations/{invitation_id}': () => ({
      want: absent(),
      probes: [probe('DELETE', `/v1/projects/${b2.project}/invitations/inv_${'0'.repeat(20)}`)],
    }),
    'GET /v1/invitations': (op) => ({ want: ok(op), probes: [probe('GET', '/v1/invitations')] }),
    // Joining another project is not for a key confined to one.
    'POST /v1/invitations/{id}/accept': () => ({
      want: refused,
      probes: [probe('POST', `/v1/invitations/inv_${'0'.repeat(20)}/accept`)],
    }),
    'POST /v1/keys': () => ({
      want: absent(),
      probes: [
        probe('POST', '/v1/keys', { project_id: b2.project, name: 'k', project_access: 'own' }),
      ],
    }),
    'GET /v1/keys': () => ({
      want: absent(),
      probes: [probe('GET', `/v1/keys?project_id=${b2.project}`)],
    }),
    'POST /v1/keys/{id}/revoke': () => ({
      want: absent(['key_not_found']),
      probes: [probe('POST', `/v1/keys/${b2.key}/revoke`)],
    }),
    'POST /v1/keys/{id}/rotate': () => ({
      want: absent(['key_not_found']),
      probes: [probe('POST', `/v1/keys/${b2.key}/rotate`, { grace_period_seconds: 0 })],
    }),
    'GET /v1/usage': () => ({ want: absent(), probes: [probe('GET', usagePath(b2.project))] }),
    'GET /v1/user': (op) => ({ want: ok(op), probes: [probe('GET', '/v1/user')] }),
    'GET /v1/regions': (op) => ({ want: ok(op), probes: [probe('GET', '/v1/regions')] }),
    'GET /v1/support/tickets': (op) => ({
      want: ok(op),
      probes: [probe('GET', '/v1/support/tickets')],
    }),
    'POST /v1/support/tickets': (op) => ({
      want: ok(op),
      probes: [probe('POST', '/v1/support/tickets', { subject: 'ci', body: 'From CI.' })],
    }),
    // B's own ticket, opened with an unconfined key: not this key's to read.
    'GET /v1/support/tickets/{id}': () => ({
      want: absent(['not_found']),
      probes: [probe('GET', `/v1/support/tickets/${bTicket}`)],
    }),
    'GET /v1/oauth/clients': (op) => ({
      want: ok(op),
      probes: [probe('GET', '/v1/oauth/clients')],
    }),
    'POST /v1/oauth/clients': () => ({
      want: refused,
      probes: [
        probe('POST', '/v1/oauth/clients', {
          name: 'escape',
          redirect_uris: ['https://bob.example.com/cb'],
        }),
      ],
    }),
    'GET /v1/openapi.json': (op) => ({
      want: ok(op),
      probes: [probe('GET', '/v1/openapi.json')],
    }),
  };

  it('every documented operation has a case', () => {
    const documented = documentedOperations();
    expect(documented.filter((op) => !CONFINED[op])).toEqual([]);
    expect(Object.keys(CONFINED).filter((op) => !documented.includes(op))).toEqual([]);
  });

  it('other projects look absent, creation is 403; refusals change nothing', async () => {
    const failures: string[] = [];
    for (const op of documentedOperations()) {
      const { want, probes } = CONFINED[op](op);
      for (const p of probes) {
        const before = await db.snapshot();
        const res = await apiRequest(platform.url(), p.method, p.path, {
          token: confined,
          body: p.body,
        });
        const diff = snapshotDiff(before, await db.snapshot());
        const where = `${op} — ${p.method} ${p.path}`;
        const code = res.json?.error?.code;
        if (res.status !== want.status || (want.codes && !want.codes.includes(code))) {
          failures.push(
            `${where}: want ${want.status} ${want.codes?.join('|') ?? ''}, got ${res.status} ${res.text}`,
          );
        }
        if (res.status >= 400) {
          const problems = errorEnvelopeProblems(res);
          if (problems.length) failures.push(`${where}: ${problems.join('; ')}`);
          if (Object.keys(diff).length) {
            failures.push(`${where}: refused, yet the database changed ${JSON.stringify(diff)}`);
          }
        }
        if (
          res.text.includes(b2.project) &&
          !`${p.path} ${JSON.stringify(p.body ?? null)}`.includes(b2.project)
        ) {
          failures.push(`${where}: shows B's other project`);
        }
      }
    }
    expect(failures).toEqual([]);
    const list = await apiRequest(platform.url(), 'GET', '/v1/projects?limit=100', {
      token: confined,
    });
    expect(list.json.data.map((x: { id: string }) => x.id)).toEqual([B.project.id]);
    // The ticket it opened itself is the only one it lists; B's own stays out of reach.
    const tickets = await apiRequest(platform.url(), 'GET', '/v1/support/tickets?limit=100', {
      token: confined,
    });
    expect(tickets.json.data.map((t: { subject: string }) => t.subject)).toEqual(['ci']);
    expect(tickets.text).not.toContain(bTicket);
  });
});

/** Every authenticated probe of the route table answered 401 for `secret`, changing nothing. */
async function expectDeadEverywhere(secret: string): Promise<void> {
  const failures: string[] = [];
  let probes = 0;
  for (const op of documentedOperations()) {
    if (op === 'GET /v1/openapi.json') continue;
    for (const p of [...(FOREIGN[op]?.probes() ?? []), ...(OWN[op]?.probes() ?? [])]) {
      probes++;
      const before = await db.snapshot();
      const res = await apiRequest(platform.url(), p.method, p.path, {
        token: secret,
        body: p.body,
      });
      if (res.status !== 401 || res.json?.error?.code !== 'unauthenticated') {
        failures.push(`${op} — ${p.method} ${p.path}: want 401, got ${res.status} ${res.text}`);
      }
      const diff = snapshotDiff(before, await db.snapshot());
      if (Object.keys(diff).length) failures.push(`${op}: the database changed`);
    }
  }
  expect(failures).toEqual([]);
  expect(probes).toBeGreaterThanOrEqual(Object.keys(FOREIGN).length);
}

async function keyRevokedAt(keyId: string): Promise<unknown> {
  const rows = await db.query<{ revoked_at: Date | null }>(
    'SELECT revoked_at FROM api_keys WHERE id = $1',
    [keyId],
  );
  return rows[0]?.revoked_at ?? null;
}

describe('security: keys that must be dead are dead on every route', () => {
  it('a key minted with an OAuth access token, once the grant is revoked', async () => {
    const grant = await oauthAccessToken(platform, B);
    const made = await apiRequest(platform.url(), 'POST', '/v1/keys', {
      token: grant.access_token,
      body: { project_id: B.project.id, name: 'minted by an app' },
    });
    expect(made.status).toBe(201);
    const minted: string = made.json.secret;
    expect((await apiRequest(platform.url(), 'GET', '/v1/regions', { token: minted })).status).toBe(
      200,
    );
    const revoke = await fetch(`${platform.url('auth-server')}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        Authorization: clientSecretBasic(grant.client.id, grant.client.client_secret!),
      },
      body: new URLSearchParams({ token: grant.refresh_token! }).toString(),
    });
    expect(revoke.status).toBe(200);
    const refused = await eventually(
      async () =>
        (await apiRequest(platform.url(), 'GET', '/v1/regions', { token: minted })).status === 401,
      3_000,
    );
    expect(refused.ok).toBe(true);
    expect(await keyRevokedAt(made.json.id)).toBeInstanceOf(Date);
    await expectDeadEverywhere(minted);
  });

  it('a removed member’s key of the project, after they were added again', async () => {
    await platform.addMember(A.project.id, A.secret, B.email, 'developer');
    const made = await apiRequest(platform.url(), 'POST', '/v1/keys', {
      token: B.secret,
      body: { project_id: A.project.id, name: 'b in a' },
    });
    expect(made.status).toBe(201);
    const removed = await apiRequest(
      platform.url(),
      'DELETE',
      `/v1/projects/${A.project.id}/members/${B.user.id}`,
      { token: A.secret },
    );
    expect(removed.status).toBe(200);
    await platform.addMember(A.project.id, A.secret, B.email, 'developer');
    expect(await keyRevokedAt(made.json.id)).toBeInstanceOf(Date);
    await expectDeadEverywhere(made.json.secret);
    // B's own credential is a member again; B leaves to restore A's world.
    const back = await apiRequest(
      platform.url(),
      'DELETE',
      `/v1/projects/${A.project.id}/members/${B.user.id}`,
      {
        token: B.secret,
      },
    );
    expect(back.status).toBe(200);
  });
});

/**
 * Every escalation a member of A's project might try, by role: obtain another member's secret
 * by rotation (nobody may, owners and admins included), make an owner or demote one (owners
 * only, by invitation or by a role change), and lift a key's rate limit above the project's
 * (nobody: only an operator raises the project's). Each refusal changes nothing.
 */
describe.each<MemberRole>(['viewer', 'developer', 'admin', 'owner'])(
  'security: a %s of A’s project trying every escalation',
  (role) => {
    let member: Tenant;

    beforeAll(async () => {
      member = await platform.tenant(`esc-${role}`);
      await platform.addMember(A.project.id, A.secret, member.email, role);
    });

    afterAll(async () => {
      await apiRequest(
        platform.url(),
        'DELETE',
        `/v1/projects/${A.project.id}/members/${member.user.id}`,
        { token: member.secret },
      );
    });

    const attempts = (): Array<{
      what: string;
      p: Probe;
      want: [number, string, string?] | null;
    }> => [
      {
        what: 'rotate the owner’s key',
        p: probe('POST', `/v1/keys/${A.key.id}/rotate`, { grace_period_seconds: 604_800 }),
        want: [403, 'forbidden'],
      },
      {
        what: 'add an owner',
        p: probe('POST', `/v1/projects/${A.project.id}/members`, {
          email: dave.email,
          role: 'owner',
        }),
        want: roleMay(roles, role, 'members.add_owner') ? null : [403, 'forbidden'],
      },
      {
        what: 'make themselves an owner',
        p: probe('PATCH', `/v1/projects/${A.project.id}/members/${member.user.id}`, {
          role: 'owner',
        }),
        want: roleMay(roles, role, 'members.change_owner_role') ? null : [403, 'forbidden'],
      },
      {
        what: 'demote the owner',
        p: probe('PATCH', `/v1/projects/${A.project.id}/members/${A.user.id}`, {
          role: 'viewer',
        }),
        want: roleMay(roles, role, 'members.change_owner_role') ? null : [403, 'forbidden'],
      },
      {
        what: 'raise a key’s rate limit above the project’s',
        p: probe('POST', '/v1/keys', { project_id: A.project.id, name: 'fast', rate_limit: 601 }),
        want: roleMay(roles, role, 'keys.create')
          ? [400, 'invalid_request', 'rate_limit']
          : [403, 'forbidden'],
      },
    ];

    it('is refused each time, changing nothing', async () => {
      const failures: string[] = [];
      let tried = 0;
      for (const { what, p, want } of attempts()) {
        if (!want) continue;
        tried++;
        const before = await db.snapshot();
        const res = await apiRequest(platform.url(), p.method, p.path, {
          token: member.secret,
          body: p.body,
        });
        const got = [res.status, res.json?.error?.code, res.json?.error?.param].slice(
          0,
          want.length,
        );
        if (JSON.stringify(got) !== JSON.stringify(want)) {
          failures.push(`${role} ${what}: want ${want.join(' ')}, got ${res.status} ${res.text}`);
        }
        if (res.text.includes('sk_live_')) failures.push(`${role} ${what}: a secret came back`);
        const diff = snapshotDiff(before, await db.snapshot());
        if (Object.keys(diff).length)
          failures.push(`${role} ${what}: changed ${JSON.stringify(diff)}`);
      }
      expect(failures).toEqual([]);
      expect(tried).toBeGreaterThanOrEqual(2);
      // A's key still acts for A.
      expect(
        (await apiRequest(platform.url(), 'GET', '/v1/user', { token: A.secret })).json,
      ).toMatchObject({
        id: A.user.id,
      });
    });
  },
);
