import { Injectable } from '@nestjs/common';
import {
  Deleted,
  DomainError,
  ListPage,
  MAX_RATE_LIMIT,
  newId,
  Project,
  projectNotFound,
  ProjectsJobs,
} from '@cap/contracts';
import { EventBus } from '@cap/queue';
import { badCursor } from '../errors';
import { announceKeysRevoked } from '../keys/key-events';
import { RegionsRepository } from '../regions/regions.repository';
import { assertNotConfined, authorize } from './access';
import { ProjectsRepository } from './projects.repository';

type Req<K extends keyof ProjectsJobs> = ProjectsJobs[K]['req'];
type Res<K extends keyof ProjectsJobs> = ProjectsJobs[K]['res'];

@Injectable()
export class ProjectsService {
  constructor(
    private readonly projects: ProjectsRepository,
    private readonly regions: RegionsRepository,
    private readonly events: EventBus,
  ) {}

  /** A key confined to its project lists that project only. */
  async list(req: Req<'projects.list'>): Promise<ListPage<Project>> {
    const page = await this.projects.listForUser(
      req.actor.user_id,
      req.limit,
      req.starting_after,
      req.actor.confined_to,
    );
    if (!page) throw badCursor('a project you can see');
    return page;
  }

  async create(req: Req<'projects.create'>): Promise<Project> {
    assertNotConfined(req.actor, 'create projects');
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
      authorize(this.projects, req.project_id, req.actor, 'project.read'),
      this.projects.findLive(req.project_id),
    ]);
    if (!project) throw projectNotFound(req.project_id);
    return project;
  }

  async update(req: Req<'projects.update'>): Promise<Project> {
    await authorize(this.projects, req.project_id, req.actor, 'project.rename');
    const project = await this.projects.rename(req.project_id, req.name);
    if (!project) throw projectNotFound(req.project_id);
    return project;
  }

  /**
   * Operator: a project's rate limit. Gateways are told to drop its keys, so that they ask again
   * and learn their new effective limits.
   */
  async adminSetLimit(
    req: Req<'admin.projects.set-limit'>,
  ): Promise<Res<'admin.projects.set-limit'>> {
    const limit = req.rate_limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RATE_LIMIT) {
      throw new DomainError(
        'invalid_request',
        `The limit must be an integer from 1 to ${MAX_RATE_LIMIT} requests per minute.`,
        { param: 'limit' },
      );
    }
    const set = await this.projects.setRateLimit(req.project_id, limit);
    if (!set) throw projectNotFound(req.project_id);
    await announceKeysRevoked(this.events, set.keyIds);
    return { project_id: req.project_id, rate_limit: limit };
  }

  /** Soft delete: its keys are revoked at once and every gateway is told in one event. */
  async delete(req: Req<'projects.delete'>): Promise<Deleted> {
    await authorize(this.projects, req.project_id, req.actor, 'project.delete');
    const deleted = await this.projects.softDelete(req.project_id);
    // Deleted meanwhile by another request: the same answer as a second delete.
    if (!deleted) throw projectNotFound(req.project_id);
    await announceKeysRevoked(this.events, deleted.revokedKeyIds);
    return { id: req.project_id, deleted: true };
  }
}
