/**
 * The app module booted against the real Postgres and Redis, driven over its queue as the
 * gateway drives it: every job of this change answers, and domain errors cross the queue.
 */
import { Test, TestingModule } from '@nestjs/testing';
import pino from 'pino';
import { generateApiKey, hashApiKey, lastFour } from '@cap/auth';
import { Actor, DomainError, newId, ProjectsJobs, QUEUES, SCOPES } from '@cap/contracts';
import { Database } from '@cap/db';
import { Metrics, MetricsModule } from '@cap/observability';
import { RpcClient } from '@cap/queue';
import {
  cleanRedisPrefix,
  createTestDatabase,
  TEST_ENV,
  TestDatabase,
  testQueuePrefix,
} from '@cap/testing';
import { AppModule } from '../app.module';
import { projectsServiceEnv } from '../config';

let tdb: TestDatabase;
let app: TestingModule;
let rpc: RpcClient<ProjectsJobs>;
const prefix = testQueuePrefix();

beforeAll(async () => {
  tdb = await createTestDatabase();
  const config = projectsServiceEnv.parse({
    DATABASE_URL: tdb.url,
    REDIS_URL: TEST_ENV.redisUrl,
    QUEUE_PREFIX: prefix,
    DB_POOL_MAX: '4',
  });
  app = await Test.createTestingModule({
    imports: [
      MetricsModule.forApp(new Metrics('projects-service')),
      AppModule.forRoot(config, pino({ level: 'silent' })),
    ],
  }).compile();
  await app.init();
  rpc = new RpcClient<ProjectsJobs>({
    queue: QUEUES.projects,
    prefix,
    redisUrl: TEST_ENV.redisUrl,
    timeoutMs: 5_000,
  });
  await rpc.ready();
});

afterAll(async () => {
  await rpc.close();
  await app.close();
  await cleanRedisPrefix(prefix);
  await tdb.drop();
});

async function user(email: string): Promise<Actor> {
  const id = newId('user');
  await app.get(Database).client.user.create({
    data: {
      id,
      email,
      name: email.split('@')[0],
      passwordHash: '$argon2id$test',
      emailVerifiedAt: new Date(),
    },
  });
  return { user_id: id, scopes: [...SCOPES] };
}

function secret() {
  const s = generateApiKey();
  return { secret_hash: hashApiKey(s), last4: lastFour(s) };
}

it('serves projects, members, rotation, touches and tickets over the queue', async () => {
  const owner = await user('owner@example.com');
  const dev = await user('dev@example.com');
  const actor = owner;

  const project = await rpc.call('projects.create', {
    v: 1,
    actor,
    name: 'edge',
    region: 'us-east',
  });
  const project_id = project.id;
  expect(await rpc.call('projects.get', { v: 1, actor, project_id })).toEqual(project);
  const renamed = await rpc.call('projects.update', { v: 1, actor, project_id, name: 'core' });
  expect(renamed.name).toBe('core');

  const invitation = await rpc.call('members.invite', {
    v: 1,
    actor,
    project_id,
    email: 'DEV@example.com',
    role: 'developer',
  });
  expect(invitation).toMatchObject({ email: 'dev@example.com', status: 'pending' });
  const mine = await rpc.call('invitations.list_mine', { v: 1, actor: dev, limit: 10 });
  expect(mine.data.map((i) => i.id)).toEqual([invitation.id]);
  const accepted = await rpc.call('invitations.accept', {
    v: 1,
    actor: dev,
    invitation_id: invitation.id,
  });
  expect(accepted.status).toBe('accepted');
  const members = await rpc.call('members.list', { v: 1, actor, project_id, limit: 10 });
  expect(members.data.map((m) => [m.email, m.role])).toEqual([
    ['owner@example.com', 'owner'],
    ['dev@example.com', 'developer'],
  ]);
  const promoted = await rpc.call('members.update_role', {
    v: 1,
    actor,
    project_id,
    user_id: dev.user_id,
    role: 'admin',
  });
  expect(promoted).toEqual({ ...members.data[1], role: 'admin' });
  await rpc.call('members.update_role', {
    v: 1,
    actor,
    project_id,
    user_id: dev.user_id,
    role: 'developer',
  });

  const first = secret();
  const key = await rpc.call('keys.create', {
    v: 1,
    actor: dev,
    project_id,
    name: 'ci',
    ...first,
  });
  expect(key.created_by).toBe(dev.user_id);
  const second = secret();
  const rotated = await rpc.call('keys.rotate', {
    v: 1,
    actor: dev,
    key_id: key.id,
    grace_period_seconds: 600,
    ...second,
  });
  expect(rotated.previous_secret_expires_at).not.toBeNull();
  for (const s of [first, second]) {
    const principal = await rpc.call('keys.authenticate', { v: 1, secret_hash: s.secret_hash });
    expect(principal?.key_id).toBe(key.id);
  }
  const at = new Date(Date.now() - 1_000).toISOString();
  expect(await rpc.call('keys.touch', { v: 1, used: [{ key_id: key.id, at }] })).toBeNull();
  const keys = await rpc.call('keys.list', { v: 1, actor, project_id, limit: 10 });
  expect(keys.data[0].last_used_at).toBe(at.replace(/\.\d{3}Z$/, 'Z'));

  expect(
    await rpc.call('members.remove', { v: 1, actor, project_id, user_id: dev.user_id }),
  ).toEqual({ id: dev.user_id, deleted: true });
  expect(await rpc.call('keys.authenticate', { v: 1, secret_hash: second.secret_hash })).toBeNull();

  const ticket = await rpc.call('tickets.create', {
    v: 1,
    actor,
    subject: 'Hi',
    body: 'Hello',
    request_ids: [],
  });
  expect(await rpc.call('tickets.get', { v: 1, actor, ticket_id: ticket.id })).toEqual(ticket);
  expect(await rpc.call('tickets.list', { v: 1, actor, limit: 10 })).toEqual({
    data: [ticket],
    has_more: false,
  });

  expect(await rpc.call('projects.delete', { v: 1, actor, project_id })).toEqual({
    id: project_id,
    deleted: true,
  });
  const err = await rpc.call('projects.get', { v: 1, actor, project_id }).catch((e) => e);
  expect(err).toBeInstanceOf(DomainError);
  expect(err).toMatchObject({ code: 'project_not_found', param: 'project_id' });
});
