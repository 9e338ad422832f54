/**
 * Issue 10, item 8, end to end: members were added by an email string, so an attacker who signed
 * up as bob@corp before Bob did was added to Bob's projects. Now `POST /v1/projects/{id}/members`
 * invites the address, and only an account whose email is verified (the link mailed at sign-up)
 * and is the invitation's sees and accepts it. The whole platform runs as processes; the
 * attacker signs up through the auth-server's page and calls the API with an OAuth token.
 */
import {
  adminWithRetry,
  apiRequest,
  DbSnapshotter,
  expectError,
  oauthAccessToken,
  runAdmin,
  signUpInBrowser,
  Tenant,
  TENANT_PASSWORD,
  TestPlatform,
} from '@cap/testing';

let platform: TestPlatform;
let db: DbSnapshotter;
let alice: Tenant;
let carol: Tenant;
const bobEmail = `bob-${Date.now()}@corp.example`;
/** An access token of the account that signed up with bob's address (never verified). */
let squatter: string;

beforeAll(async () => {
  platform = await TestPlatform.start();
  db = await DbSnapshotter.connect(platform.db.url);
  alice = await platform.tenant('alice');
  carol = await platform.tenant('carol');
  const signedUp = await signUpInBrowser(platform.url('auth-server'), {
    email: bobEmail,
    password: TENANT_PASSWORD,
  });
  expect(signedUp.status).toBe(200);
  squatter = (await oauthAccessToken(platform, { email: bobEmail })).access_token;
}, 180_000);

afterAll(async () => {
  await db?.close();
  await platform?.stop();
});

const api = (method: string, path: string, token: string, body?: unknown) =>
  apiRequest(platform.url(), method, path, { token, body });

describe('security: an unverified address is nobody’s', () => {
  let invitationId: string;

  it('an attacker signed up with bob’s address cannot see or accept bob’s invitation', async () => {
    const invited = await api('POST', `/v1/projects/${alice.project.id}/members`, alice.secret, {
      email: bobEmail,
      role: 'admin',
    });
    expect(invited.status).toBe(201);
    expect(invited.json).toMatchObject({ email: bobEmail, role: 'admin', status: 'pending' });
    invitationId = invited.json.id;
    const memberships = await db.count('memberships');

    const listed = await api('GET', '/v1/invitations', squatter);
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({ data: [], has_more: false });
    expectError(
      await api('POST', `/v1/invitations/${invitationId}/accept`, squatter),
      404,
      'not_found',
      'id',
    );
    expectError(
      await api('GET', `/v1/projects/${alice.project.id}`, squatter),
      404,
      'project_not_found',
      'project_id',
    );
    expect(await db.count('memberships')).toBe(memberships);
    // Another verified user cannot take it either.
    expectError(
      await api('POST', `/v1/invitations/${invitationId}/accept`, carol.secret),
      404,
      'not_found',
      'id',
    );
  });

  it('once the holder of the address follows the link, that account sees and accepts', async () => {
    const link = await adminWithRetry<{ url: string }>(platform, [
      'verification-link',
      '--email',
      bobEmail,
    ]);
    expect((await fetch(link.url)).status).toBe(200);
    const listed = await api('GET', '/v1/invitations', squatter);
    expect(listed.json.data.map((i: { id: string }) => i.id)).toEqual([invitationId]);
    expect(listed.json.data[0]).toMatchObject({
      project_id: alice.project.id,
      project_name: alice.project.name,
      invited_by: alice.user.id,
    });
    const accepted = await api('POST', `/v1/invitations/${invitationId}/accept`, squatter, {});
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ id: invitationId, status: 'accepted' });
    expect((await api('GET', `/v1/projects/${alice.project.id}`, squatter)).status).toBe(200);
    const members = await api('GET', `/v1/projects/${alice.project.id}/members`, alice.secret);
    expect(members.json.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ email: bobEmail, role: 'admin' })]),
    );
  });
});

describe('security: inviting does not reveal who has an account', () => {
  it('answers identically for a registered and an unregistered email', async () => {
    const invite = (email: string) =>
      api('POST', `/v1/projects/${alice.project.id}/members`, alice.secret, {
        email,
        role: 'viewer',
      });
    const unregistered = `nobody-${Date.now()}@example.com`;
    const a = await invite(carol.email);
    const b = await invite(unregistered);
    const shape = (res: Awaited<ReturnType<typeof invite>>, email: string) => ({
      status: res.status,
      headers: [...res.headers.keys()].filter((h) => !h.startsWith('ratelimit')).sort(),
      body: res.text
        .replace(email, 'EMAIL')
        .replace(/inv_[0-9A-Za-z]{20}/, 'ID')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, 'TIME'),
    });
    expect(shape(a, carol.email)).toEqual(shape(b, unregistered));
    expect(a.status).toBe(201);
    expect(a.text).not.toContain('user_not_found');
  });
});

describe('the operator', () => {
  it('`add-member` adds an existing user directly, with the role given', async () => {
    const member = await adminWithRetry<{ user_id: string; role: string }>(platform, [
      'add-member',
      '--project',
      alice.project.id,
      '--email',
      carol.email,
      '--role',
      'developer',
    ]);
    expect(member).toMatchObject({ user_id: carol.user.id, email: carol.email, role: 'developer' });
    expect((await api('GET', `/v1/projects/${alice.project.id}`, carol.secret)).status).toBe(200);
    // The operator is told plainly what is wrong.
    const unknown = await runAdmin(
      [
        'add-member',
        '--project',
        alice.project.id,
        '--email',
        'nobody@example.com',
        '--role',
        'viewer',
      ],
      platform.env,
    );
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stderr).error).toMatchObject({ code: 'user_not_found' });
    const badRole = await runAdmin(
      ['add-member', '--project', alice.project.id, '--email', carol.email, '--role', 'root'],
      platform.env,
    );
    expect(JSON.parse(badRole.stderr).error).toMatchObject({
      code: 'invalid_request',
      param: 'role',
    });
  });
});
