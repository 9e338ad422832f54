import { Injectable } from '@nestjs/common';
import { DomainError, ListPage, newId, Project, ProjectsJobs } from '@cap/contracts';
import { RegionsRepository } from '../regions/regions.repository';
import { ProjectsRepository } from './projects.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly regions: RegionsRepository,
  ) {}

  async list(req: Req<'projects.list'>): Promise<ListPage<Project>> {
    const page = await this.projects.listForUser(req.actor.user_id, req.limit, req.starting_after);
    if (!page) {
      throw new DomainError('invalid_request', 'starting_after is not a project you can see.', {
        param: 'starting_after',
      });
    }
    return page;
  }

  async create(req: Req<'projects.create'>): Promise<Project> {
    if (!(await this.regions.isAvailable(req.region))) {
      throw new DomainError(
        'invalid_request',
        `Unknown region "${req.region}". GET /v1/regions lists the available regions.`,
        { param: 'region' },
      );
    }
    return this.projects.createWithOwner({
      id: newId('project'),
      name: req.name,
      regionId: req.region,
      ownerId: req.actor.user_id,
    });
  }
}
