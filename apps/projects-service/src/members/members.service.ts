import { Injectable } from '@nestjs/common';
import {
  Deleted,
  DomainError,
  ListPage,
  Member,
  MEMBER_ROLES,
  MemberRole,
  projectNotFound,
  ProjectsJobs,
} from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { badCursor } from '../errors';
import { announceKeysRevoked } from '../keys/key-events';
import { authorize } from '../projects/access';
import { ProjectsRepository } from '../projects/projects.repository';
import { actionsToInvite, assertMay, may } from '../projects/roles';
import { MembersRepository } from './members.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

/** The roles of the invitations that a member with `role` may not send. */
const invitationRolesBeyond = (role: MemberRole): MemberRole[] =>
  MEMBER_ROLES.filter((invited) => !actionsToInvite(invited).every((a) => may(role, a)));

function notMember(userId: string): DomainError {
  return new DomainError('not_found', `User ${userId} is not a member of this project.`, {
    param: 'user_id',
  });
}

@Injectable()
export class MembersService {
  constructor(
    private readonly members: MembersRepository,
    private readonly projects: ProjectsRepository,
    private readonly events: EventBus,
  ) {}

  async list(req: Req<'members.list'>): Promise<ListPage<Member>> {
    await authorize(this.projects, req.project_id, req.actor, 'members.list');
    const page = await this.members.list(req.project_id, req.limit, req.starting_after);
    if (!page) throw badCursor('a member of this project');
    return page;
  }

  /**
   * The operator adds an existing user, named by email, with no invitation (`npm run admin --
   * add-member`): the operator vouches for who holds the address. Members invite instead
   * (invitations.service.ts), which never tells whether an account exists.
   */
  async adminAdd(req: Req<'admin.members.add'>): Promise<Member> {
    const userId = await this.members.findUserIdByEmail(req.email);
    if (!userId) {
      throw new DomainError('user_not_found', `No user has the email address ${req.email}.`, {
        param: 'email',
      });
    }
    const added = await this.members.add(req.project_id, userId, req.role);
    switch (added.kind) {
      case 'added':
        return added.member;
      case 'exists':
        throw new DomainError('conflict', `${req.email} is already a member of this project.`, {
          param: 'email',
        });
      case 'gone':
        throw projectNotFound(req.project_id);
    }
  }

  /**
   * Removes a member: owners and admins remove others (only an owner removes an owner), anyone
   * may leave, and the last owner never goes. The member's keys of the project are revoked
   * with the membership (so that re-adding them brings none back); gateways are told to drop
   * them at once.
   */
  async remove(req: Req<'members.remove'>): Promise<Deleted> {
    const self = req.user_id === req.actor.user_id;
    const actorRole = await authorize(
      this.projects,
      req.project_id,
      req.actor,
      self ? 'members.remove_self' : 'members.remove',
    );
    const removed = await this.members.remove(req.project_id, req.user_id, (role, lastOwner) => {
      if (!self && role === 'owner') assertMay(actorRole, 'members.remove_owner');
      if (lastOwner) {
        throw new DomainError(
          'conflict',
          'The last owner of a project cannot be removed. Make another member an owner ' +
            'first, or delete the project.',
          { param: 'user_id' },
        );
      }
    });
    switch (removed.kind) {
      case 'removed':
        await announceKeysRevoked(this.events, removed.liveKeyIds);
        return { id: req.user_id, deleted: true };
      case 'not_member':
        throw notMember(req.user_id);
      case 'gone':
        throw projectNotFound(req.project_id);
    }
  }

  /**
   * Changes a member's role: owners and admins change the roles of others and their own, but
   * only an owner makes someone an owner or changes an owner's role, and the last owner is never
   * demoted. The roles are read again under the project's lock, so an actor demoted meanwhile
   * is held to their new role. The member's keys stay (they act with the role of the moment);
   * the pending invitations they sent that their new role could not send are revoked, so that
   * a demoted admin cannot come back as one through an invitation to another address.
   */
  async updateRole(req: Req<'members.update_role'>): Promise<Member> {
    await authorize(this.projects, req.project_id, req.actor, 'members.change_role');
    const changed = await this.members.updateRole(
      req.project_id,
      req.actor.user_id,
      req.user_id,
      req.role,
      invitationRolesBeyond(req.role),
      ({ actorRole, from, lastOwner }) => {
        assertMay(actorRole, 'members.change_role');
        if (from === 'owner' || req.role === 'owner') {
          assertMay(actorRole, 'members.change_owner_role');
        }
        if (lastOwner) {
          throw new DomainError(
            'conflict',
            'The last owner of a project cannot be given another role. Make another member ' +
              'an owner first.',
            { param: 'role' },
          );
        }
      },
    );
    switch (changed.kind) {
      case 'changed':
        return changed.member;
      case 'not_member':
        throw notMember(req.user_id);
      case 'gone':
        throw projectNotFound(req.project_id);
    }
  }
}
