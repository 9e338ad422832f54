/**
 * The services of projects-service wired to a fresh Postgres database and Redis prefix, with a
 * listener on the key-revoked channel and factories for users, projects and keys. One per
 * integration test file.
 */
import { newApiKey } from '@cap/auth';
import {
  Actor,
  ApiKey,
  CHANNELS,
  DomainError,
  KeyRevokedEvent,
  MemberRole,
  newId,
  SCOPES,
} from '@cap/contracts';
import { createPrismaClient, Database } from '@cap/db';
import { EventBus } from '@cap/queue';
import {
  cleanRedisPrefix,
  createTestDatabase,
  sleep,
  TEST_ENV,
  TestDatabase,
  testQueuePrefix,
} from '@cap/testing';
import { InvitationsRepository } from '../src/invitations/invitations.repository';
import { InvitationsService } from '../src/invitations/invitations.service';
import { KeysRepository } from '../src/keys/keys.repository';
import { KeysService } from '../src/keys/keys.service';
import { MembersRepository } from '../src/members/members.repository';
import { MembersService } from '../src/members/members.service';
import { ProjectsRepository } from '../src/projects/projects.repository';
import { ProjectsService } from '../src/projects/projects.service';
import { RegionsRepository } from '../src/regions/regions.repository';
import { TicketsRepository } from '../src/tickets/tickets.repository';
import { TicketsService } from '../src/tickets/tickets.service';

export interface IssuedKey {
  key: ApiKey;
  secret: string;
  hash: string;
}

export class ServiceFixture {
  /** Every key-revoked event seen on this fixture's prefix, in arrival order. */
  readonly revoked: KeyRevokedEvent[] = [];

  private constructor(
    private readonly tdb: TestDatabase,
    readonly db: Database,
    readonly prefix: string,
    private readonly bus: EventBus,
    private readonly listener: EventBus,
    readonly projects: ProjectsService,
    readonly keys: KeysService,
    readonly members: MembersService,
    readonly tickets: TicketsService,
    readonly invitations: InvitationsService,
  ) {}

  static async start(): Promise<ServiceFixture> {
    const tdb = await createTestDatabase();
    const db = new Database(createPrismaClient({ url: tdb.url, poolMax: 4 }));
    const prefix = testQueuePrefix();
    const bus = new EventBus(TEST_ENV.redisUrl, prefix);
    const listener = new EventBus(TEST_ENV.redisUrl, prefix);
    const projectsRepo = new ProjectsRepository(db);
    const fixture = new ServiceFixture(
      tdb,
      db,
      prefix,
      bus,
      listener,
      new ProjectsService(projectsRepo, new RegionsRepository(db), bus),
      new KeysService(new KeysRepository(db), projectsRepo, bus),
      new MembersService(new MembersRepository(db), projectsRepo, bus),
      new TicketsService(new TicketsRepository(db)),
      new InvitationsService(new InvitationsRepository(db), projectsRepo),
    );
    await listener.subscribe(CHANNELS.keyRevoked, (e) =>
      fixture.revoked.push(e as KeyRevokedEvent),
    );
    return fixture;
  }

  async stop(): Promise<void> {
    await this.db.onApplicationShutdown();
    await this.bus.close();
    await this.listener.close();
    await cleanRedisPrefix(this.prefix);
    await this.tdb.drop();
  }

  /**
   * A user, with every scope (scopes are the gateway's business, roles are ours). Its email is
   * verified unless `verified: false` (a sign-up whose link was not followed yet).
   */
  async user(profile: { email?: string; name?: string; verified?: boolean } = {}): Promise<Actor> {
    const id = newId('user');
    await this.db.client.user.create({
      data: {
        id,
        email: profile.email ?? `${id.toLowerCase()}@example.com`,
        name: profile.name ?? null,
        passwordHash: '$argon2id$test',
        emailVerifiedAt: profile.verified === false ? null : new Date(),
      },
    });
    return { user_id: id, scopes: [...SCOPES] };
  }

  /** A live project owned by `owner`, with other members. */
  async project(owner: Actor, members: Array<[Actor, MemberRole]> = []): Promise<string> {
    const id = newId('project');
    await this.db.client.project.create({
      data: {
        id,
        name: 'p',
        regionId: 'us-east',
        memberships: {
          create: [
            { userId: owner.user_id, role: 'owner' },
            ...members.map(([a, role]) => ({ userId: a.user_id, role })),
          ],
        },
      },
    });
    return id;
  }

  /** The email `user()` gives a user by default. */
  emailOf(actor: Actor): string {
    return `${actor.user_id.toLowerCase()}@example.com`;
  }

  /** `actor` invites `invitee` and `invitee` accepts: a member joining the usual way. */
  async join(actor: Actor, projectId: string, invitee: Actor, role: MemberRole) {
    const invitation = await this.invitations.invite({
      v: 1,
      actor,
      project_id: projectId,
      email: this.emailOf(invitee),
      role,
    });
    return this.invitations.accept({ v: 1, actor: invitee, invitation_id: invitation.id });
  }

  /** A key issued through the service, as the gateway does. */
  async issue(
    actor: Actor,
    projectId: string,
    extra: { expires_at?: string } = {},
  ): Promise<IssuedKey> {
    const { secret, ...stored } = newApiKey();
    const key = await this.keys.create({
      v: 1,
      actor,
      project_id: projectId,
      name: 'k',
      ...stored,
      ...extra,
    });
    return { key, secret, hash: stored.secret_hash };
  }

  /**
   * A key of `createdBy` written straight to the database: for members whose role could not
   * issue one now (a developer since demoted to viewer keeps the keys made before).
   */
  async plantKey(createdBy: Actor, projectId: string): Promise<{ id: string; hash: string }> {
    const { secret_hash: hash, last4 } = newApiKey();
    const id = newId('key');
    await this.db.client.apiKey.create({
      data: {
        id,
        projectId,
        createdBy: createdBy.user_id,
        name: 'planted',
        secretHash: hash,
        last4,
        scopes: [...SCOPES],
      },
    });
    return { id, hash };
  }

  authenticate(hash: string) {
    return this.keys.authenticate({ v: 1, secret_hash: hash });
  }

  /** A new secret for rotation: what the gateway sends. */
  newSecret(): ReturnType<typeof newApiKey> {
    return newApiKey();
  }

  /**
   * The key-revoked events that mention any of `keyIds`, once `count` of them arrived (or after
   * two seconds), plus a short wait so that an unexpected extra event is seen too.
   */
  async revokedEventsFor(keyIds: string[], count = 1): Promise<KeyRevokedEvent[]> {
    const matching = () => this.revoked.filter((e) => e.key_ids.some((k) => keyIds.includes(k)));
    const deadline = Date.now() + 2_000;
    while (matching().length < count && Date.now() < deadline) await sleep(10);
    await sleep(100);
    return matching();
  }

  /**
   * Everything about a project that a refused command must leave alone: its row, memberships,
   * invitations and keys (with their secrets' hashes).
   */
  async snapshot(projectId: string): Promise<unknown> {
    return this.db.client.project.findUnique({
      where: { id: projectId },
      select: {
        name: true,
        deletedAt: true,
        updatedAt: true,
        memberships: { orderBy: { userId: 'asc' }, select: { userId: true, role: true } },
        invitations: {
          orderBy: { id: 'asc' },
          select: { id: true, email: true, role: true, acceptedAt: true, revokedAt: true },
        },
        apiKeys: {
          orderBy: { id: 'asc' },
          select: {
            id: true,
            secretHash: true,
            previousSecretHash: true,
            previousExpiresAt: true,
            revokedAt: true,
          },
        },
      },
    });
  }
}

/** Awaits a rejection with a `DomainError` of `code` (and `param`, when given). */
export async function rejects(
  promise: Promise<unknown>,
  code: string,
  param?: string,
): Promise<DomainError> {
  const err: unknown = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  expect(err).toMatchObject(param === undefined ? { code } : { code, param });
  return err as DomainError;
}
