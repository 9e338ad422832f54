import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  addMemberBody,
  AddMemberBody,
  Deleted,
  ListPage,
  listQuery,
  ListQuery,
  Member,
  memberParams,
  projectIdParam,
} from '@cap/contracts';
import { Upstream } from '../upstream/upstream';
import { ZodPipe } from '../validation/zod.pipe';

@Controller('v1/projects/:id/members')
export class MembersController {
  constructor(private readonly upstream: Upstream) {}

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

  @Post()
  @HttpCode(201)
  @RequireScopes('members:write')
  add(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
    @Body(new ZodPipe(addMemberBody)) body: AddMemberBody,
  ): Promise<Member> {
    return this.upstream.projects.call('members.add', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      ...body,
    });
  }

  @Delete(':user_id')
  @RequireScopes('members:write')
  remove(
    @CurrentPrincipal() principal: Principal,
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
