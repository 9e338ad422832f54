import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  addMemberBody,
  AddMemberBody,
  Deleted,
  Invitation,
  invitationSchema,
  ListPage,
  listQuery,
  ListQuery,
  Member,
  memberParams,
  projectIdParam,
  listPageSchema,
  memberSchema,
  deletedSchema,
  noBody,
  updateMemberBody,
  UpdateMemberBody,
} from '@cap/contracts';
import { Upstream } from '../upstream/upstream';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ZodPipe } from '../validation/zod.pipe';

@Controller('v1/projects/:id/members')
export class MembersController {
  constructor(private readonly upstream: Upstream) {}

  @ApiDoc({
    summary: 'List the members of a project, with their roles',
    response: {
      status: 200,
      schema: listPageSchema(memberSchema, 'MemberList'),
      description: 'A page of members.',
    },
    errors: ['project_not_found'],
  })
  @Get()
  @RequireScopes('members:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<Member>> {
    return this.upstream.projects.call('members.list', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      ...query,
    });
  }

  @ApiDoc({
    summary: 'Invite someone to a project by email',
    description:
      'Owners and admins; only owners may invite owners. Anyone can be invited, with or ' +
      'without an account: the answer is the same either way. The holder of the address ' +
      'accepts once it is verified (`POST /v1/invitations/{id}/accept`); the invitation ' +
      'expires after 7 days. `409 conflict` only when a member of the project already has ' +
      'this email (members can list each other anyway).',
    bodyExample: { email: 'dev@example.com', role: 'developer' },
    response: { status: 201, schema: invitationSchema, description: 'The invitation.' },
    errors: ['project_not_found', 'forbidden', 'conflict'],
  })
  @Post()
  @Idempotent()
  @HttpCode(201)
  @RequireScopes('members:write')
  add(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
    @Body(new ZodPipe(addMemberBody)) body: AddMemberBody,
  ): Promise<Invitation> {
    return this.upstream.projects.call('members.invite', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      ...body,
    });
  }

  @ApiDoc({
    summary: "Change a member's role",
    description:
      'Owners and admins, for others and for themselves; only owners may make someone an ' +
      "owner or change an owner's role. The last owner cannot be given another role (`409 " +
      "conflict`). The member's keys stay and act with the new role from the next request; " +
      'pending invitations they sent that the new role could not send are revoked.',
    bodyExample: { role: 'admin' },
    response: { status: 200, schema: memberSchema, description: 'The member, with the new role.' },
    errors: ['project_not_found', 'not_found', 'forbidden', 'conflict'],
  })
  @Patch(':user_id')
  @RequireScopes('members:write')
  updateRole(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(memberParams)) params: { id: string; user_id: string },
    @Body(new ZodPipe(updateMemberBody)) body: UpdateMemberBody,
  ): Promise<Member> {
    return this.upstream.projects.call('members.update_role', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      user_id: params.user_id,
      role: body.role,
    });
  }

  @ApiDoc({
    summary: 'Remove a member from a project',
    description:
      'Owners and admins; only owners may remove owners; anyone may leave. The last owner ' +
      "cannot be removed. The member's keys for the project stop working at once.",
    response: { status: 200, schema: deletedSchema, description: 'The member is removed.' },
    errors: ['project_not_found', 'not_found', 'forbidden', 'conflict'],
  })
  @Delete(':user_id')
  @RequireScopes('members:write')
  remove(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(noBody)) _body: unknown,
    @Param(new ZodPipe(memberParams)) params: { id: string; user_id: string },
  ): Promise<Deleted> {
    return this.upstream.projects.call('members.remove', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      user_id: params.user_id,
    });
  }
}
