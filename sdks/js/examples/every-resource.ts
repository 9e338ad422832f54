/**
 * Every resource of the JS SDK, once: type-checked (`tsc --noEmit`) against the packed package
 * by `sdks/js/test/package.e2e-spec.ts`.
 */
import {
  ApiError,
  CloudApi,
  NotFoundError,
  OAuth,
  RateLimitError,
  type ErrorCode,
  type Invitation,
  type Page,
  type Project,
} from '@cloud-api/sdk';

export async function everyResource(apiKey: string, baseUrl: string): Promise<void> {
  const api = new CloudApi({ apiKey, baseUrl, maxRetries: 2, timeoutMs: 10_000 });

  // The seed: list, create, issue a key, read usage.
  const page: Page<Project> = await api.projects.list({ limit: 2 });
  console.log(page.data.length, page.has_more);
  for await (const p of api.projects.list({ limit: 2 })) console.log(p.id, p.name, p.region);
  const project = await api.projects.create({ name: 'edge-ingest', region: 'us-east' });
  const key = await api.keys.create({
    project_id: project.id,
    name: 'ci',
    scopes: ['projects:read'],
    project_access: 'own',
  });
  const access: 'own' | 'member' = key.project_access;
  const secret: string = key.secret;
  const usage = await api.usage.retrieve({
    project_id: project.id,
    start: '2026-03-06T00:00:00Z',
    end: '2026-03-07T00:00:00Z',
    granularity: 'hour',
    group_by: 'endpoint',
  });
  console.log(secret.length, access, usage.total_requests, usage.complete_through);

  // Projects
  await api.projects.retrieve(project.id);
  await api.projects.update(project.id, { name: 'renamed' });
  // Members and invitations
  for await (const m of api.members.list(project.id)) console.log(m.user_id, m.role);
  const invitation: Invitation = await api.members.add(project.id, {
    email: 'dev@example.com',
    role: 'developer',
  });
  console.log(invitation.status, invitation.expires_at);
  for await (const i of api.invitations.listForProject(project.id)) console.log(i.email);
  await api.invitations.revoke(project.id, invitation.id);
  const member = await api.members.update(project.id, 'usr_123', { role: 'viewer' });
  console.log(member.email, member.role);
  await api.members.remove(project.id, 'usr_123');
  for await (const i of api.invitations.list()) await api.invitations.accept(i.id);
  // Keys
  for await (const k of api.keys.list({ project_id: project.id })) console.log(k.redacted);
  await api.keys.rotate(key.id, { grace_period_seconds: 3600 });
  await api.keys.revoke(key.id, { idempotencyKey: 'revoke-once' });
  // The user, regions, support, OAuth clients, the document
  const user = await api.user.retrieve();
  const regions = await api.regions.list();
  const ticket = await api.supportTickets.create({
    subject: 'Help',
    body: 'See the request.',
    request_ids: [api.lastResponse?.requestId ?? ''],
  });
  await api.supportTickets.retrieve(ticket.id);
  await api.supportTickets.list({ limit: 10 });
  const client = await api.oauthClients.create({
    name: 'My app',
    redirect_uris: ['https://app.example.com/callback'],
  });
  await api.oauthClients.list();
  const document = await api.openapi.retrieve();
  console.log(user.email, regions.data[0]?.id, client.client_secret, Object.keys(document));
  await api.projects.del(project.id);

  // Rate limits and errors
  console.log(api.rateLimit?.remaining, api.rateLimit?.reset);
  try {
    await api.projects.retrieve('prj_9');
  } catch (err) {
    if (err instanceof NotFoundError) console.log(err.code, err.requestId);
    else if (err instanceof RateLimitError) console.log(err.retryAfter);
    else if (err instanceof ApiError) {
      const code: ErrorCode | (string & {}) = err.code;
      console.log(err.status, code, err.param);
    } else throw err;
  }

  // OAuth: authorization URL (PKCE S256 + state), code exchange, refresh, revoke.
  const oauth = new OAuth({
    issuer: 'https://auth.cloudplatform.dev',
    clientId: client.id,
    clientSecret: client.client_secret,
    redirectUri: 'https://app.example.com/callback',
  });
  const { url, state, codeVerifier } = await oauth.authorizationUrl({
    scope: 'openid projects:read',
  });
  console.log(url);
  const code = oauth.codeFromCallback('https://app.example.com/callback?code=x&state=y', state);
  const tokens = await oauth.exchangeCode({ code, codeVerifier });
  const asUser = new CloudApi({ accessToken: tokens.access_token, baseUrl });
  console.log((await asUser.user.retrieve()).email);
  if (tokens.refresh_token) await oauth.refresh(tokens.refresh_token);
  await oauth.revoke(tokens.access_token, 'access_token');
}
