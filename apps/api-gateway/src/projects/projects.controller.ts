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
  deletedSchema,
  listPageSchema,
  projectSchema,
  noBody,
} from '@cap/contracts';
import { Upstream } from '../upstream/upstream';
import { ApiDoc } from '../openapi/api-doc.decorator';
import { Idempotent } from '../idempotency/idempotent.decorator';
import { ZodPipe } from '../validation/zod.pipe';

@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly upstream: Upstream) {}

  @ApiDoc({
    summary: 'List projects visible to the caller',
    description:
      'Newest first. A key sees the projects of the user who created it; a key with ' +
      '`project_access: "own"` sees only its own project.',
    response: {
      status: 200,
      schema: listPageSchema(projectSchema, 'ProjectList'),
      description: 'A page of projects.',
      // The seed's example, with the fields every list and project also carry.
      example: {
        data: [
          {
            id: 'prj_123',
            name: 'edge-ingest',
            region: 'us-east',
            created_at: '2026-03-06T12:00:00Z',
          },
          {
            id: 'prj_456',
            name: 'analytics',
            region: 'eu-central',
            created_at: '2026-03-05T09:30:00Z',
          },
        ],
        has_more: false,
      },
    },
  })
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

  @ApiDoc({
    summary: 'Create a project with a name and a region',
    description:
      'The caller becomes its owner. `region` is one of GET /v1/regions. A key confined to its ' +
      'project (`project_access: "own"`) cannot create projects (403).',
    bodyExample: { name: 'edge-ingest', region: 'us-east' },
    response: {
      status: 201,
      schema: projectSchema,
      description: 'The new project.',
      example: {
        id: 'prj_789',
        name: 'edge-ingest',
        region: 'us-east',
        created_at: '2026-03-06T12:00:00Z',
      },
    },
    errors: ['forbidden'],
  })
  @Post()
  @Idempotent()
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

  @ApiDoc({
    summary: 'Read a project',
    response: { status: 200, schema: projectSchema, description: 'The project.' },
    errors: ['project_not_found'],
  })
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

  @ApiDoc({
    summary: 'Rename a project',
    description: 'Owners and admins only.',
    bodyExample: { name: 'edge-ingest-eu' },
    response: { status: 200, schema: projectSchema, description: 'The renamed project.' },
    errors: ['project_not_found', 'forbidden'],
  })
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

  @ApiDoc({
    summary: 'Delete a project',
    description:
      'Owners only. Revokes every key of the project at once; its usage stays readable by ' +
      'its former members for 30 days.',
    response: { status: 200, schema: deletedSchema, description: 'The project is deleted.' },
    errors: ['project_not_found', 'forbidden'],
  })
  @Delete(':id')
  @RequireScopes('projects:write')
  remove(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(noBody)) _body: unknown,
    @Param(new ZodPipe(projectIdParam)) params: { id: string },
  ): Promise<Deleted> {
    return this.upstream.projects.call('projects.delete', {
      v: 1,
      actor: actorOf(principal),
      project_id: params.id,
    });
  }
}
