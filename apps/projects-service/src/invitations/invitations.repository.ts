import { Injectable } from '@nestjs/common';
import { Invitation, InvitationStatus, isoSeconds, ListPage } from '@cap/contracts';
import { Database, keysetPage, MemberRole, Prisma } from '@cap/db';
import { lockLiveProject } from '../members/members.repository';

const INVITATION_FIELDS = {
  id: true,
  projectId: true,
  email: true,
  role: true,
  invitedBy: true,
  createdAt: true,
  expiresAt: true,
  acceptedAt: true,
  revokedAt: true,
  project: { select: { name: true } },
} as const;
type InvitationRow = Prisma.InvitationGetPayload<{ select: typeof INVITATION_FIELDS }>;

function statusOf(row: InvitationRow, now: Date): InvitationStatus {
  if (row.acceptedAt) return 'accepted';
  if (row.revokedAt) return 'revoked';
  return row.expiresAt <= now ? 'expired' : 'pending';
}

function toInvitation(row: InvitationRow, now = new Date()): Invitation {
  return {
    id: row.id,
    project_id: row.projectId,
    project_name: row.project.name,
    email: row.email,
    role: row.role,
    invited_by: row.invitedBy,
    status: statusOf(row, now),
    created_at: isoSeconds(row.createdAt),
    expires_at: isoSeconds(row.expiresAt),
  };
}

/** Invitations that can still be accepted, as of `now`. */
const pendingAt = (now: Date): Prisma.InvitationWhereInput => ({
  acceptedAt: null,
  revokedAt: null,
  expiresAt: { gt: now },
  project: { deletedAt: null },
});

export type CreateResult =
  | { kind: 'created'; invitation: Invitation }
  | { kind: 'member' }
  | {
      kind: 'gone';
    };

export type RevokeResult =
  | { kind: 'revoked'; invitation: Invitation }
  | { kind: 'not_pending'; invitation: Invitation }
  | { kind: 'not_found' };

export type AcceptResult =
  { kind: 'accepted'; invitation: Invitation } | { kind: 'member' } | { kind: 'not_found' };

@Injectable()
export class InvitationsRepository {
  constructor(private readonly db: Database) {}

  /**
   * The email of `userId` if its holder has proved it, else `null`. `users` belongs to
   * auth-server: read here, never written. This, not anything the request says, is the address
   * invitations are matched with.
   */
  async verifiedEmailOf(userId: string): Promise<string | null> {
    const row = await this.db.client.user.findFirst({
      where: { id: userId, emailVerifiedAt: { not: null } },
      select: { email: true },
    });
    return row?.email ?? null;
  }

  /**
   * A new pending invitation of a live project, under the project's lock. An earlier pending
   * invitation of the same address is revoked (the newest one counts). `member` when a member
   * of the project has this email: the inviter can list members, so that tells them nothing
   * new; whether anyone else has an account with it is never looked at.
   */
  async create(input: {
    id: string;
    projectId: string;
    email: string;
    role: MemberRole;
    invitedBy: string;
    expiresAt: Date;
  }): Promise<CreateResult> {
    return this.db.client.$transaction(async (tx) => {
      if (!(await lockLiveProject(tx, input.projectId))) return { kind: 'gone' };
      const member = await tx.membership.findFirst({
        where: { projectId: input.projectId, user: { email: input.email } },
        select: { userId: true },
      });
      if (member) return { kind: 'member' };
      const now = new Date();
      await tx.invitation.updateMany({
        where: { projectId: input.projectId, email: input.email, ...pendingAt(now) },
        data: { revokedAt: now },
      });
      const row = await tx.invitation.create({ data: input, select: INVITATION_FIELDS });
      return { kind: 'created', invitation: toInvitation(row, now) };
    });
  }

  /** Pending invitations of a project, oldest first; `null` when the cursor is not one. */
  listForProject(projectId: string, limit: number, startingAfter?: string) {
    return this.page({ projectId }, limit, startingAfter);
  }

  /** Pending invitations addressed to `email` (of live projects), oldest first. */
  listForEmail(email: string, limit: number, startingAfter?: string) {
    return this.page({ email }, limit, startingAfter);
  }

  private async page(
    scope: Prisma.InvitationWhereInput,
    limit: number,
    startingAfter?: string,
  ): Promise<ListPage<Invitation> | null> {
    const now = new Date();
    const visible = { ...scope, ...pendingAt(now) };
    return keysetPage({
      limit,
      startingAfter,
      order: 'asc',
      findCursor: (id) =>
        this.db.client.invitation.findFirst({
          where: { ...visible, id },
          select: { id: true, createdAt: true },
        }),
      findMany: (page) =>
        this.db.client.invitation.findMany({
          where: { ...visible, ...page.where },
          orderBy: page.orderBy,
          take: page.take,
          select: INVITATION_FIELDS,
        }),
      map: (r) => toInvitation(r, now),
    });
  }

  /** Revokes a pending invitation of a live project, under the project's lock. */
  async revoke(projectId: string, invitationId: string): Promise<RevokeResult> {
    return this.db.client.$transaction(async (tx) => {
      if (!(await lockLiveProject(tx, projectId))) return { kind: 'not_found' };
      const row = await tx.invitation.findFirst({
        where: { id: invitationId, projectId },
        select: INVITATION_FIELDS,
      });
      if (!row) return { kind: 'not_found' };
      const now = new Date();
      if (statusOf(row, now) !== 'pending') {
        return { kind: 'not_pending', invitation: toInvitation(row, now) };
      }
      const revoked = await tx.invitation.update({
        where: { id: invitationId },
        data: { revokedAt: now },
        select: INVITATION_FIELDS,
      });
      return { kind: 'revoked', invitation: toInvitation(revoked, now) };
    });
  }

  /**
   * Accepts the pending invitation `invitationId` addressed to `email` (the accepting user's
   * verified address): `userId` becomes a member with its role, under the project's lock, and
   * the invitation is accepted once only. `not_found` for any other invitation, so that one
   * addressed to someone else looks like none at all.
   */
  async accept(invitationId: string, email: string, userId: string): Promise<AcceptResult> {
    return this.db.client.$transaction(async (tx) => {
      const found = await tx.invitation.findFirst({
        where: { id: invitationId, email },
        select: { projectId: true },
      });
      if (!found || !(await lockLiveProject(tx, found.projectId))) return { kind: 'not_found' };
      const now = new Date();
      // Read again under the lock: a concurrent accept or revoke has finished by now.
      const row = await tx.invitation.findFirst({
        where: { id: invitationId, email, ...pendingAt(now) },
        select: INVITATION_FIELDS,
      });
      if (!row) return { kind: 'not_found' };
      const member = await tx.membership.findUnique({
        where: { projectId_userId: { projectId: row.projectId, userId } },
        select: { role: true },
      });
      if (member) return { kind: 'member' };
      await tx.membership.create({ data: { projectId: row.projectId, userId, role: row.role } });
      const accepted = await tx.invitation.update({
        where: { id: invitationId },
        data: { acceptedAt: now },
        select: INVITATION_FIELDS,
      });
      return { kind: 'accepted', invitation: toInvitation(accepted, now) };
    });
  }
}
