import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  createProjectBody,
  CreateProjectBody,
  ListPage,
  listQuery,
  ListQuery,
  Project,
} from '@cap/contracts';
import { Upstream } from '../upstream/upstream';
import { ZodPipe } from '../validation/zod.pipe';

@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly upstream: Upstream) {}

  @Get()
  @RequireScopes('projects:read')
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(listQuery)) query: ListQuery,
  ): Promise<ListPage<Project>> {
    return this.upstream.projects.call('projects.list', {
      v: 1,
      actor: actorOf(principal),
      ...query,
    });
  }

  @Post()
  @HttpCode(201)
  @RequireScopes('projects:write')
  create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createProjectBody)) body: CreateProjectBody,
  ): Promise<Project> {
    return this.upstream.projects.call('projects.create', {
      v: 1,
      actor: actorOf(principal),
      ...body,
    });
  }
}
