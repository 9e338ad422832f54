import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { actorOf, CurrentPrincipal, Principal, RequireScopes } from '@cap/auth';
import {
  createProjectBody,
  CreateProjectBody,
  Deleted,
  ListPage,
  listQuery,
  ListQuery,
  Project,
  projectIdParam,
  updateProjectBody,
  UpdateProjectBody,
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

  @Get(':id')
  @RequireScopes('projects:read')
  get(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
  ): Promise<Project> {
    return this.upstream.projects.call('projects.get', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
    });
  }

  @Patch(':id')
  @RequireScopes('projects:write')
  update(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
    @Body(new ZodPipe(updateProjectBody)) body: UpdateProjectBody,
  ): Promise<Project> {
    return this.upstream.projects.call('projects.update', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
      name: body.name,
    });
  }

  @Delete(':id')
  @RequireScopes('projects:write')
  remove(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
  ): Promise<Deleted> {
    return this.upstream.projects.call('projects.delete', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
    });
  }
}
