import { Injectable } from '@nestjs/common';
import {
  Deleted,
  DomainError,
  ListPage,
  newId,
  Project,
  projectNotFound,
  ProjectsJobs,
} from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { badCursor } from '../errors';
import { announceKeysRevoked } from '../keys/key-events';
import { RegionsRepository } from '../regions/regions.repository';
import { authorize } from './access';
import { ProjectsRepository } from './projects.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly regions: RegionsRepository,
    private readonly events: EventBus,
  ) {}

  async list(req: Req<'projects.list'>): Promise<ListPage<Project>> {
    const page = await this.projects.listForUser(req.actor.user_id, req.limit, req.starting_after);
    if (!page) throw badCursor('a project you can see');
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

  async get(req: Req<'projects.get'>): Promise<Project> {
    const [, project] = await Promise.all([
      authorize(this.projects, req.project_id, req.actor.user_id, 'project.read'),
      this.projects.findLive(req.project_id),
    ]);
    if (!project) throw projectNotFound(req.project_id);
    return project;
  }

  async update(req: Req<'projects.update'>): Promise<Project> {
    await authorize(this.projects, req.project_id, req.actor.user_id, 'project.rename');
    const project = await this.projects.rename(req.project_id, req.name);
    if (!project) throw projectNotFound(req.project_id);
    return project;
  }

  /** Soft delete: its keys are revoked at once and every gateway is told in one event. */
  async delete(req: Req<'projects.delete'>): Promise<Deleted> {
    await authorize(this.projects, req.project_id, req.actor.user_id, 'project.delete');
    const deleted = await this.projects.softDelete(req.project_id);
    // Deleted meanwhile by another request: the same answer as a second delete.
    if (!deleted) throw projectNotFound(req.project_id);
    await announceKeysRevoked(this.events, deleted.revokedKeyIds);
    return { id: req.project_id, deleted: true };
  }
}
