import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  Invitation,
  invitationIdParam,
  invitationSchema,
  ListPage,
  listPageSchema,
  listQuery,
  ListQuery,
  noBody,
  projectIdParam,
  projectInvitationParams,
} from '@cap/contracts';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Upstream } from '../upstream/upstream';
import { ZodPipe } from '../validation/zod.pipe';

/** A project's pending invitations (made with `POST /v1/projects/{id}/members`). */
@Controller('v1/projects/:id/invitations')
export class ProjectInvitationsController {
  constructor(private readonly upstream: Upstream) {}

  @ApiDoc({
    summary: "List a project's pending invitations",
    description: 'Any member of the project.',
    response: {
      status: 200,
      schema: listPageSchema(invitationSchema, 'InvitationList'),
      description: 'A page of pending invitations, oldest first.',
    },
    errors: ['project_not_found'],
  })
  @Get()
  @RequireScopes('members:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<Invitation>> {
    return this.upstream.projects.call('invitations.list_for_project', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      ...query,
    });
  }

  @ApiDoc({
    summary: 'Revoke a pending invitation',
    description: 'Owners and admins. It can no longer be accepted.',
    response: { status: 200, schema: invitationSchema, description: 'The revoked invitation.' },
    errors: ['project_not_found', 'not_found', 'forbidden', 'conflict'],
  })
  @Delete(':invitation_id')
  @RequireScopes('members:write')
  revoke(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(noBody)) _body: unknown,
    @Param(new ZodPipe(projectInvitationParams)) params: { id: string; invitation_id: string },
  ): Promise<Invitation> {
    return this.upstream.projects.call('invitations.revoke', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      invitation_id: params.invitation_id,
    });
  }
}

/** Invitations waiting for the caller: addressed to their verified email. */
@Controller('v1/invitations')
export class InvitationsController {
  constructor(private readonly upstream: Upstream) {}

  @ApiDoc({
    summary: 'List the invitations waiting for you',
    description:
      'Pending invitations addressed to your email, once it is verified (none before: follow ' +
      'the link mailed at sign-up).',
    response: {
      status: 200,
      schema: listPageSchema(invitationSchema, 'InvitationList'),
      description: 'A page of pending invitations, oldest first.',
    },
  })
  @Get()
  @RequireScopes('members:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<Invitation>> {
    return this.upstream.projects.call('invitations.list_mine', {
      v: 1,
      actor: actorOf(principal),
      ...query,
    });
  }

  @ApiDoc({
    summary: 'Accept an invitation',
    description:
      'You become a member of its project with its role, if your email is verified and is the ' +
      'one invited; any other invitation is `404`, as if it did not exist.',
    response: { status: 200, schema: invitationSchema, description: 'The accepted invitation.' },
    errors: ['not_found', 'conflict'],
  })
  @Post(':id/accept')
  @Idempotent()
  @HttpCode(200)
  @RequireScopes('members:write')
  accept(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(noBody)) _body: unknown,
    @Param(new ZodPipe(invitationIdParam)) params: { id: string },
  ): Promise<Invitation> {
    return this.upstream.projects.call('invitations.accept', {
      v: 1,
      actor: actorOf(principal),
      invitation_id: params.id,
    });
  }
}
