import { Injectable } from '@nestjs/common';
import {
  DomainError,
  Invitation,
  ListPage,
  newId,
  normaliseEmail,
  projectNotFound,
  ProjectsJobs,
} from '@cap/contracts';
import { badCursor } from '../errors';
import { assertNotConfined, authorize } from '../projects/access';
import { ProjectsRepository } from '../projects/projects.repository';
import { actionsToInvite, assertMay } from '../projects/roles';
import { InvitationsRepository } from './invitations.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

/** How long an invitation can be accepted: 7 days. */
export const INVITATION_TTL_MS = 7 * 86_400_000;

function invitationNotFound(id: string): DomainError {
  return new DomainError('not_found', `No invitation ${id} is waiting for you.`, { param: 'id' });
}

/**
 * Invitations: how anyone but the operator joins a project. Owners and admins invite an email
 * address (owners only may invite owners, as for adding); the answer never depends on whether
 * someone has an account with that address. Only a user whose email is verified and is the
 * invitation's may see and accept it, checked when they accept: the invitation, not the email
 * string of anyone's account, is the authority.
 */
@Injectable()
export class InvitationsService {
  constructor(
    private readonly invitations: InvitationsRepository,
    private readonly projects: ProjectsRepository,
  ) {}

  async invite(req: Req<'members.invite'>): Promise<Invitation> {
    const role = await authorize(this.projects, req.project_id, req.actor, 'members.add');
    for (const action of actionsToInvite(req.role)) assertMay(role, action);
    const email = normaliseEmail(req.email);
    const created = await this.invitations.create({
      id: newId('invitation'),
      projectId: req.project_id,
      email,
      role: req.role,
      invitedBy: req.actor.user_id,
      expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
    });
    switch (created.kind) {
      case 'created':
        return created.invitation;
      case 'member':
        throw new DomainError('conflict', `${email} is already a member of this project.`, {
          param: 'email',
        });
      case 'gone':
        throw projectNotFound(req.project_id);
    }
  }

  async listForProject(req: Req<'invitations.list_for_project'>): Promise<ListPage<Invitation>> {
    await authorize(this.projects, req.project_id, req.actor, 'members.list');
    const page = await this.invitations.listForProject(
      req.project_id,
      req.limit,
      req.starting_after,
    );
    if (!page) throw badCursor('a pending invitation of this project');
    return page;
  }

  async revoke(req: Req<'invitations.revoke'>): Promise<Invitation> {
    await authorize(this.projects, req.project_id, req.actor, 'members.add');
    const revoked = await this.invitations.revoke(req.project_id, req.invitation_id);
    switch (revoked.kind) {
      case 'revoked':
        return revoked.invitation;
      case 'not_pending':
        throw new DomainError(
          'conflict',
          `Invitation ${req.invitation_id} is ${revoked.invitation.status}, no longer pending.`,
          { param: 'invitation_id' },
        );
      case 'not_found':
        throw new DomainError('not_found', `No invitation ${req.invitation_id} in this project.`, {
          param: 'invitation_id',
        });
    }
  }

  /**
   * None while the actor's email is unverified (an address nobody proved is nobody's), and none
   * for a key confined to one project: invitations are to other projects, which it cannot see.
   */
  async listMine(req: Req<'invitations.list_mine'>): Promise<ListPage<Invitation>> {
    const email =
      req.actor.confined_to === undefined
        ? await this.invitations.verifiedEmailOf(req.actor.user_id)
        : null;
    if (!email) {
      if (req.starting_after) throw badCursor('an invitation waiting for you');
      return { data: [], has_more: false };
    }
    const page = await this.invitations.listForEmail(email, req.limit, req.starting_after);
    if (!page) throw badCursor('an invitation waiting for you');
    return page;
  }

  async accept(req: Req<'invitations.accept'>): Promise<Invitation> {
    // Joining another project is not for a key confined to one.
    assertNotConfined(req.actor, 'accept invitations');
    const email = await this.invitations.verifiedEmailOf(req.actor.user_id);
    if (!email) throw invitationNotFound(req.invitation_id);
    const accepted = await this.invitations.accept(req.invitation_id, email, req.actor.user_id);
    switch (accepted.kind) {
      case 'accepted':
        return accepted.invitation;
      case 'member':
        throw new DomainError('conflict', 'You are already a member of this project.', {
          param: 'id',
        });
      case 'not_found':
        throw invitationNotFound(req.invitation_id);
    }
  }
}
