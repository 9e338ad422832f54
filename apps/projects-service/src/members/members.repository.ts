import { Injectable } from '@nestjs/common';
import { isoSeconds, ListPage, Member, normaliseEmail } from '@cap/contracts';
import { Database, keysetPage, MemberRole, Prisma } from '@cap/db';

// `users` belongs to auth-server: read here (email and name of members), never written.
const MEMBER_FIELDS = {
  userId: true,
  role: true,
  createdAt: true,
  user: { select: { email: true, name: true } },
} as const;
type MemberRow = Prisma.MembershipGetPayload<{ select: typeof MEMBER_FIELDS }>;

function toMember(row: MemberRow): Member {
  return {
    user_id: row.userId,
    email: row.user.email,
    name: row.user.name,
    role: row.role,
    created_at: isoSeconds(row.createdAt),
  };
}

export type AddResult = { kind: 'added'; member: Member } | { kind: 'exists' } | { kind: 'gone' };

export type RemoveResult =
  { kind: 'removed'; liveKeyIds: string[] } | { kind: 'not_member' } | { kind: 'gone' };

export type RoleChangeResult =
  { kind: 'changed'; member: Member } | { kind: 'not_member' } | { kind: 'gone' };

/** What `updateRole` hands its `authorize` callback, read under the project's lock. */
export interface RoleChange {
  /** The actor's role now (it may have changed since the request was authorised). */
  actorRole: MemberRole;
  /** The member's role before the change. */
  from: MemberRole;
  /** Whether the change would leave the project with no owner. */
  lastOwner: boolean;
}

@Injectable()
export class MembersRepository {
  constructor(private readonly db: Database) {}

  /**
   * Members of a project, oldest first (ties by user id), after the cursor member; `null` when
   * the cursor is not a member.
   */
  async list(
    projectId: string,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<Member> | null> {
    return keysetPage({
      limit,
      startingAfter,
      order: 'asc',
      tie: 'userId',
      findCursor: (userId) =>
        this.db.client.membership.findFirst({
          where: { projectId, userId },
          select: { userId: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.membership.findMany({
          where: { projectId, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: MEMBER_FIELDS,
        }),
      map: toMember,
    });
  }

  /** The id of the user with this email (stored lower-cased), or `null`. */
  async findUserIdByEmail(email: string): Promise<string | null> {
    const row = await this.db.client.user.findUnique({
      where: { email: normaliseEmail(email) },
      select: { id: true },
    });
    return row?.id ?? null;
  }

  /**
   * Adds `userId` to a live project with `role`, unless already a member. Only the operator
   * adds directly (`admin.members.add`); everyone else goes through an invitation.
   */
  async add(projectId: string, userId: string, role: MemberRole): Promise<AddResult> {
    return this.db.client.$transaction(async (tx) => {
      if (!(await lockLiveProject(tx, projectId))) return { kind: 'gone' };
      const { count } = await tx.membership.createMany({
        data: [{ projectId, userId, role }],
        skipDuplicates: true,
      });
      if (!count) return { kind: 'exists' };
      const row = await tx.membership.findUniqueOrThrow({
        where: { projectId_userId: { projectId, userId } },
        select: MEMBER_FIELDS,
      });
      return { kind: 'added', member: toMember(row) };
    });
  }

  /**
   * Removes `userId` from a live project. `authorize` sees the member's role and the project's
   * owner count as they are under the project's lock (so two owners removing each other cannot
   * leave none) and throws to refuse. Revokes the member's live keys of the project and the
   * invitations they sent that are still pending, in the same transaction; returns the keys' ids.
   */
  async remove(
    projectId: string,
    userId: string,
    authorize: (role: MemberRole, lastOwner: boolean) => void,
  ): Promise<RemoveResult> {
    return this.db.client.$transaction(async (tx) => {
      if (!(await lockLiveProject(tx, projectId))) return { kind: 'gone' };
      const member = await tx.membership.findUnique({
        where: { projectId_userId: { projectId, userId } },
        select: { role: true },
      });
      if (!member) return { kind: 'not_member' };
      // Owners are only counted when an owner is leaving.
      const lastOwner =
        member.role === 'owner' &&
        (await tx.membership.count({ where: { projectId, role: 'owner' } })) <= 1;
      authorize(member.role, lastOwner);
      await tx.membership.delete({ where: { projectId_userId: { projectId, userId } } });
      // Revoked, not merely unusable while the membership is gone: a key never outlives its
      // creator's membership, so re-adding the member brings none back.
      const keys = await tx.$queryRaw<Array<{ id: string }>>`
        UPDATE api_keys SET revoked_at = now()
        WHERE project_id = ${projectId} AND created_by = ${userId} AND revoked_at IS NULL
          AND (expires_at IS NULL OR expires_at > now())
        RETURNING id`;
      // Nor do the invitations they sent: a removed admin must not come back through an
      // invitation to another address of theirs.
      await tx.invitation.updateMany({
        where: { projectId, invitedBy: userId, acceptedAt: null, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      return { kind: 'removed', liveKeyIds: keys.map((k) => k.id).sort() };
    });
  }

  /**
   * Gives `userId` the role `role` in a live project, under the project's lock (as `remove`),
   * so that two owners demoting each other at once cannot leave none. `authorize` sees the
   * actor's and the member's roles and the owner count as they are under the lock, and throws
   * to refuse. Pending invitations the member sent with a role in `revokeInvitationsOf` are
   * revoked in the same transaction. An actor who is no longer a member finds the project gone.
   */
  async updateRole(
    projectId: string,
    actorId: string,
    userId: string,
    role: MemberRole,
    revokeInvitationsOf: readonly MemberRole[],
    authorize: (change: RoleChange) => void,
  ): Promise<RoleChangeResult> {
    return this.db.client.$transaction(async (tx) => {
      if (!(await lockLiveProject(tx, projectId))) return { kind: 'gone' };
      const rows = await tx.membership.findMany({
        where: { projectId, userId: { in: [actorId, userId] } },
        select: { userId: true, role: true },
      });
      const actor = rows.find((r) => r.userId === actorId);
      if (!actor) return { kind: 'gone' };
      const member = rows.find((r) => r.userId === userId);
      if (!member) return { kind: 'not_member' };
      // Owners are only counted when an owner is stepping down.
      const lastOwner =
        member.role === 'owner' &&
        role !== 'owner' &&
        (await tx.membership.count({ where: { projectId, role: 'owner' } })) <= 1;
      authorize({ actorRole: actor.role, from: member.role, lastOwner });
      const row = await tx.membership.update({
        where: { projectId_userId: { projectId, userId } },
        data: { role },
        select: MEMBER_FIELDS,
      });
      if (revokeInvitationsOf.length) {
        await tx.invitation.updateMany({
          where: {
            projectId,
            invitedBy: userId,
            role: { in: [...revokeInvitationsOf] },
            acceptedAt: null,
            revokedAt: null,
          },
          data: { revokedAt: new Date() },
        });
      }
      return { kind: 'changed', member: toMember(row) };
    });
  }
}

/**
 * Locks the project's row for the rest of the transaction, so membership changes of one project
 * happen one at a time. `false` when the project is not live.
 */
export async function lockLiveProject(
  tx: Prisma.TransactionClient,
  projectId: string,
): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM projects WHERE id = ${projectId} AND deleted_at IS NULL FOR UPDATE`;
  return rows.length > 0;
}
